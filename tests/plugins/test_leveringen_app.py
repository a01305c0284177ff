"""The Leveringen app with FastAPI's test client, on a real store (tests/plugins/conftest.py).

Authentication is Airflow's own: the simple auth manager is initialised as the
api-server does, tokens are signed by it (``generate_jwt``), and the app validates them
through ``airflow.api_fastapi.core_api.security.get_user``. The real ``/auth/token``
round trip against a running api-server is in test_leveringen_browser.py.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from etl.ui.leveringen import build_matrix, load_matrix

Q3, Q4 = "2024Q3", "2024Q4"


@pytest.fixture(scope="module")
def auth(tmp_path_factory):
    """The simple auth manager with an admin, a viewer and a user without a role."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("auth")
    mp.setenv("AIRFLOW__CORE__AUTH_MANAGER",
              "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "beheer:admin,kijker:viewer,gast:")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(home / "passwords.json"))
    mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-secret-for-the-leveringen-app-only-" + "x" * 40)
    # Token validation looks up revoked tokens in the metadata database: migrate the test one
    # (AIRFLOW_HOME and SQLite from tests/conftest.py; idempotent, seconds when already done).
    proc = subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    am = create_auth_manager()
    am.init()

    def token(name: str, role: str | None) -> str:
        return am.generate_jwt(SimpleAuthManagerUser(username=name, role=role))

    yield token
    mp.undo()


@pytest.fixture
def client(state_store, auth, monkeypatch):
    from etl.ui.app import create_app

    monkeypatch.setenv("MONITOR_DATA_DIR", str(state_store.dirs.root))
    return TestClient(create_app())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ the matrix itself


def test_every_state_lands_in_its_cell(state_store):
    m = load_matrix(state_store.dirs)
    assert m.quarters == (Q3, Q4)
    first = {r.bron: r for r in reversed(m.rows)}           # each source's first row
    states = {(r.bron, c.periode): c.state for r in first.values() for c in r.cells}
    assert states == {
        # The samples are messy on purpose: Veilig Thuis shields one cell with <5 and the
        # shelter file has no row for three municipalities (counted 0): both are accepted
        # with a warning that names it, so the cell says so.
        ("veilig_thuis", Q3): "vervangen", ("veilig_thuis", Q4): "waarschuwingen",
        ("wij", Q3): "waarschuwingen", ("wij", Q4): "te_laat",
        ("vrouwenopvang", Q3): "afgekeurd", ("vrouwenopvang", Q4): "waarschuwingen",
    }
    o = state_store.outcomes
    assert m.cell("veilig_thuis", Q3).levering_id == o["extra_columns"].levering_id
    assert m.cell("vrouwenopvang", Q3).levering_id == o["infinity_and_nan_cells"].levering_id
    assert m.cell("wij", Q4).levering_id is None
    # The replacement also carries its warning, in words.
    assert any("waarschuwing" in n for n in m.cell("veilig_thuis", Q3).notes)
    assert any("vervangt 1 eerdere levering" == n for n in m.cell("veilig_thuis", Q3).notes)


def test_a_source_with_several_organisations_has_a_row_for_each(state_store):
    from etl.core.organisations import organisations

    m = load_matrix(state_store.dirs)
    wij = [r for r in m.rows if r.bron == "wij"]
    assert [(r.organisatie, r.naam) for r in wij] == [(o.code, o.naam) for o in organisations("wij")]
    # No local team delivered here: each of their quarters is late, not hidden behind WIJ Groningen's.
    assert {c.state for r in wij[1:] for c in r.cells} == {"te_laat"}
    assert m.cell("wij", Q3).organisatie == "wij-groningen" and m.cell("wij", Q3, "pekela").levering_id is None
    assert [r.organisatie for r in m.rows if r.bron == "veilig_thuis"] == [""]


def test_organisation_rows_keep_each_teams_deliveries_apart():
    def delivery(lid, org, status="geaccepteerd", periodes=(Q3,)):
        return {"levering_id": lid, "bron": "wij", "organisatie": org, "bestandsnaam": f"{lid}.xlsx",
                "ontvangen_op": "2024-10-02T08:00:00+00:00", "status": status, "persoonsgegevens": False,
                "periodes": list(periodes), "problemen": [], "opgeslagen_als": None, "afgerond": True}

    deliveries = [delivery("a", "wij-groningen"), delivery("b", "het-hogeland"),
                  delivery("c", "westerkwartier", status="afgekeurd"), delivery("d", "", status="afgekeurd")]
    links = [{"levering_id": lid, "bron": "wij", "organisatie": org, "periode": Q3, "actueel": 1, "vervangen_door": None}
             for lid, org in (("a", "wij-groningen"), ("b", "het-hogeland"))]
    orgs = {"wij": [("wij-groningen", "WIJ Groningen"), ("het-hogeland", "Lokaal team Het Hogeland"),
                    ("westerkwartier", "Lokaal team Westerkwartier")]}
    m = build_matrix(deliveries, links, today=dt.date(2024, 10, 10), sources={"wij": ("WIJ", 21)},
                     quarters=[Q3], organisations=orgs)
    assert [(r.naam, r.cells[0].state, r.cells[0].levering_id) for r in m.rows] == [
        ("WIJ Groningen", "aangenomen", "a"), ("Lokaal team Het Hogeland", "aangenomen", "b"),
        ("Lokaal team Westerkwartier", "afgekeurd", "c")]
    # The file dropped in the shared root belongs to no team: listed by text, in no team's cell.
    assert [o["tekst"] for o in m.rows[0].overige] == ["afgekeurd, niet in de map van een organisatie"]
    assert not m.rows[1].overige and not m.rows[2].overige


def test_refusals_without_a_quarter_and_restricted_ones_are_listed_by_text_only(state_store):
    m = load_matrix(state_store.dirs)
    wij = next(r for r in m.rows if r.bron == "wij")
    assert [o["tekst"] for o in wij.overige] == ["geweigerd: persoonsgegevens"]
    assert set(wij.overige[0]) == {"tekst", "ontvangen_op"}      # no name, no id, no problems
    vt = next(r for r in m.rows if r.bron == "veilig_thuis")
    assert [o["tekst"] for o in vt.overige] == ["afgekeurd, zonder herkenbaar kwartaal"]


def test_deadline_decides_between_ontbreekt_and_te_laat():
    links = [{"levering_id": "a", "bron": "wij", "periode": Q3, "actueel": 1, "vervangen_door": None}]
    deliveries = [{"levering_id": "a", "bron": "wij", "bestandsnaam": "w.xlsx", "ontvangen_op": "2024-10-02T08:00:00+00:00",
                   "status": "geaccepteerd", "persoonsgegevens": False, "periodes": [Q3], "problemen": [],
                   "opgeslagen_als": "archive/wij/a__w.xlsx", "afgerond": True}]
    sources = {"wij": ("WIJ Groningen", 21), "veilig_thuis": ("Veilig Thuis", 21)}
    quarters = [Q3, Q4]
    # 21 January 2025 is the last day for 2024Q4: on it, still "ontbreekt"; a day later "te laat".
    on_time = build_matrix(deliveries, links, today=dt.date(2025, 1, 21), sources=sources, quarters=quarters)
    late = build_matrix(deliveries, links, today=dt.date(2025, 1, 22), sources=sources, quarters=quarters)
    assert on_time.cell("wij", Q4).state == "ontbreekt" and late.cell("wij", Q4).state == "te_laat"
    assert on_time.cell("wij", Q3).state == late.cell("wij", Q3).state == "aangenomen"
    assert late.cell("veilig_thuis", Q3).state == "te_laat"


def test_received_after_the_deadline_is_said_in_the_cell():
    links = [{"levering_id": "a", "bron": "wij", "periode": Q3, "actueel": 1, "vervangen_door": None}]
    deliveries = [{"levering_id": "a", "bron": "wij", "bestandsnaam": "w.xlsx", "ontvangen_op": "2024-11-30T08:00:00+00:00",
                   "status": "geaccepteerd", "persoonsgegevens": False, "periodes": [Q3], "problemen": [],
                   "opgeslagen_als": None, "afgerond": True}]
    m = build_matrix(deliveries, links, today=dt.date(2025, 2, 1), sources={"wij": ("WIJ", 21)})
    assert m.cell("wij", Q3).notes == ("ontvangen na de deadline (21-10-2024)",)


# ------------------------------------------------------------------ the app: authentication


@pytest.mark.parametrize("path", ["/", "/api/matrix", "/api/levering/x", "/levering/x/gemarkeerd.xlsx"])
def test_anonymous_is_refused_everywhere(client, path):
    r = client.get(path)
    assert r.status_code == 401
    assert "data-status" not in r.text and "levering_id" not in r.text and "Ingelogd" not in r.text


def test_forged_or_foreign_token_is_refused(client):
    r = client.get("/api/matrix", headers=bearer("eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.bm9wZQ"))
    assert r.status_code in (401, 403)
    r = client.get("/api/matrix", cookies={"_token": "not-a-jwt"})
    assert r.status_code in (401, 403)


def test_user_without_a_role_is_forbidden(client, auth):
    r = client.get("/api/matrix", headers=bearer(auth("gast", None)))
    assert r.status_code == 403


def test_viewer_by_header_and_by_the_ui_cookie(client, auth):
    token = auth("kijker", "viewer")
    by_header = client.get("/api/matrix", headers=bearer(token))
    assert by_header.status_code == 200
    client.cookies.set("_token", token)
    by_cookie = client.get("/api/matrix")
    assert by_cookie.status_code == 200 and by_cookie.json() == by_header.json()


# ------------------------------------------------------------------ the app: content


def test_json_matrix_matches_the_store(client, auth, state_store):
    data = client.get("/api/matrix", headers=bearer(auth("beheer", "admin"))).json()
    assert data["kwartalen"] == [Q3, Q4]
    cells = {(p["bron"], p["organisatie"], c["periode"]): c["state"] for p in data["partners"] for c in p["kwartalen"]}
    assert cells[("wij", "wij-groningen", Q3)] == "waarschuwingen" and cells[("vrouwenopvang", "", Q3)] == "afgekeurd"
    from etl.core.organisations import organisations
    from etl.core.sources import get_source

    assert [p["naam"] for p in data["partners"]] == [
        get_source("veilig_thuis").naam, *(o.naam for o in organisations("wij")), get_source("vrouwenopvang").naam]


def test_page_cells_are_readable_without_colour(client, auth):
    html = client.get("/", headers=bearer(auth("kijker", "viewer"))).text
    assert 'lang="nl"' in html
    for word in ("✓ aangenomen", "⚠ aangenomen met waarschuwingen", "↻ vervangen", "✗ afgekeurd", "! te laat"):
        assert word in html
    assert 'data-bron="wij" data-kwartaal="2024Q4" data-status="te_laat"' in html


def test_a_click_shows_receipt_problems_copy_and_what_it_replaced(client, auth, state_store):
    o = state_store.outcomes
    lid = o["extra_columns"].levering_id
    headers = bearer(auth("kijker", "viewer"))
    d = client.get(f"/api/levering/{lid}", headers=headers).json()
    assert d["ontvangstbewijs"] == o["extra_columns"].receipt.read_text(encoding="utf-8")
    assert {p["code"] for p in d["problemen"]} == {"kolom_onbekend"}
    assert d["gemarkeerde_kopie"] is True
    sample_vt_q3 = next(v for k, v in o.items() if k.startswith("VeiligThuis") and "Q3" in k)
    assert [(v["levering_id"], v["periode"]) for v in d["vervangt"]] == [(sample_vt_q3.levering_id, Q3)]
    page = client.get(f"/?levering={lid}", headers=headers).text
    from html import escape

    assert "<h2>Ontvangstbewijs</h2>" in page and "<h2>Punten (1)</h2>" in page
    assert escape(d["ontvangstbewijs"].splitlines()[0]) in page and "Vervangt" in page
    assert f"/levering/{lid}/gemarkeerd.xlsx" in page
    xlsx = client.get(f"/levering/{lid}/gemarkeerd.xlsx", headers=headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # The superseded one says by whom.
    old = client.get(f"/api/levering/{sample_vt_q3.levering_id}", headers=headers).json()
    assert [v["levering_id"] for v in old["vervangen_door"]] == [lid]


def test_restricted_delivery_shows_nothing_but_the_refusal(client, auth, state_store):
    lid = state_store.outcomes["pii_header_naam"].levering_id
    headers = bearer(auth("beheer", "admin"))
    d = client.get(f"/api/levering/{lid}", headers=headers).json()
    assert d == {"levering_id": lid, "afgeschermd": True, "status": "geweigerd: persoonsgegevens"}
    assert client.get(f"/levering/{lid}/gemarkeerd.xlsx", headers=headers).status_code == 404
    everything = client.get("/", headers=headers).text + client.get(f"/?levering={lid}", headers=headers).text \
        + client.get("/api/matrix", headers=headers).text
    assert "geweigerd: persoonsgegevens" in everything
    assert "wij_namen" not in everything
    assert state_store.planted and not [v for v in state_store.planted if v in everything]


def test_unknown_delivery_and_bad_quarter(client, auth):
    headers = bearer(auth("kijker", "viewer"))
    assert client.get("/api/levering/bestaat-niet", headers=headers).status_code == 404
    assert client.get("/?levering=bestaat-niet", headers=headers).status_code == 404
    assert client.get("/api/matrix?van=2024Q5&tot=2024Q4", headers=headers).status_code == 422
    r = client.get("/api/matrix?van=2024Q1&tot=2024Q4", headers=headers).json()
    assert r["kwartalen"] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]


def test_empty_store_is_an_empty_page_and_is_not_created(auth, tmp_path, monkeypatch):
    from etl.ui.app import create_app

    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    c = TestClient(create_app())
    headers = bearer(auth("kijker", "viewer"))
    page = c.get("/", headers=headers)
    assert page.status_code == 200 and "Nog geen leveringen" in page.text
    data = c.get("/api/matrix", headers=headers).json()
    assert data["kwartalen"] == [] and all(p["kwartalen"] == [] for p in data["partners"])
    assert not (tmp_path / "data").exists()


def test_page_time_for_eight_quarters_of_three_partners(ingested_samples, auth, monkeypatch):
    """The 24 sample deliveries: the page and the JSON each well under a second (measured, printed)."""
    from etl.ui.app import create_app

    dirs, _ = ingested_samples
    monkeypatch.setenv("MONITOR_DATA_DIR", str(dirs.root))
    c = TestClient(create_app())
    headers = bearer(auth("kijker", "viewer"))
    c.get("/", headers=headers)                       # first call imports the store module
    timings = {}
    for path in ("/", "/api/matrix"):
        t = time.perf_counter()
        for _ in range(5):
            r = c.get(path, headers=headers)
            assert r.status_code == 200
        timings[path] = (time.perf_counter() - t) / 5
    m = load_matrix(dirs)
    from etl.store.db import Store

    with Store(dirs.db_path) as store:
        warned = {lid for lid in (c.levering_id for r in m.rows for c in r.cells if c.levering_id)
                  if any(p["severity"] == "waarschuwing" for p in store.delivery(lid).problemen)}
    delivered = [r for r in m.rows if any(c.levering_id for c in r.cells)]
    states = [(c.state, c.levering_id in warned) for r in delivered for c in r.cells]
    assert len(m.quarters) == 8 and len(states) == 24 and warned
    assert {c.state for r in m.rows if r not in delivered for c in r.cells} == {"te_laat"}   # local teams
    assert all(st == ("waarschuwingen" if w else "aangenomen") for st, w in states), states
    print(f"\nLeveringen page, 8 quarters x 12 partner rows (WIJ: 10 organisations): page {timings['/'] * 1000:.1f} ms, "
          f"JSON {timings['/api/matrix'] * 1000:.1f} ms (mean of 5)")
    assert max(timings.values()) < 1.0
