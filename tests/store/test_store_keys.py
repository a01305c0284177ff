"""The delivery key (bron, organisatie, periode) on both backends, through the Store's own methods.

Two organisations of one source delivering the same quarter are both current; a correction
supersedes only its own organisation's delivery; the partial unique index refuses a second
current row for one (source, organisation, quarter) even when written around the Store.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from etl.store.db import Delivery, Store

Q = "2024Q3"


@pytest.fixture
def store(data_dirs):
    with Store.open(data_dirs) as s:
        yield s


def _delivery(lid: str, organisatie: str, sha: str, *, bron: str = "wij", status: str = "geaccepteerd",
              periodes: tuple[str, ...] = (Q,)) -> Delivery:
    return Delivery(levering_id=lid, bron=bron, organisatie=organisatie, bestandsnaam=f"{lid}.xlsx", sha256=sha,
                    ontvangen_op=f"2024-10-0{len(lid) % 9 + 1}T10:00:00+00:00", status=status, persoonsgegevens=False,
                    periodes=list(periodes), problemen=[], validatie={"aantallen": {}}, opgeslagen_als=None,
                    afgerond=False)


def _values(gemeente: str, waarde: float, *, bron: str = "wij") -> pd.DataFrame:
    return pd.DataFrame([
        {"periode": Q, "bron": bron, "gebied_type": "gemeente", "gebied_code": gemeente, "indicator": "casussen_nieuw",
         "waarde": waarde, "status": "ok"},
        {"periode": Q, "bron": bron, "gebied_type": "gemeente", "gebied_code": gemeente, "indicator": "aandeel",
         "waarde": 1 / 3, "status": "ok"},
        {"periode": Q, "bron": bron, "gebied_type": "gemeente", "gebied_code": gemeente, "indicator": "kinderen_betrokken",
         "waarde": float("nan"), "status": "suppressed_by_partner"},
    ])


def test_two_organisations_same_quarter_are_both_current_and_a_correction_replaces_only_its_own(store):
    assert store.record(_delivery("wij-a", "wij-groningen", "a" * 64), _values("GM0014", 40)) == []
    assert store.record(_delivery("wij-b", "het-hogeland", "b" * 64), _values("GM1966", 7)) == []
    assert store.current_organisations(Q) == {"wij": ["het-hogeland", "wij-groningen"]}
    ds = store.dataset([Q])
    assert set(ds["levering_id"]) == {"wij-a", "wij-b"}
    assert ds.loc[ds["indicator"] == "aandeel", "waarde"].tolist() == [1 / 3, 1 / 3]       # double precision, exactly
    assert ds.loc[ds["indicator"] == "kinderen_betrokken", "waarde"].isna().all()

    # WIJ Groningen corrects its file: its own quarter is superseded, Het Hogeland's stays current.
    assert store.record(_delivery("wij-a2", "wij-groningen", "c" * 64), _values("GM0014", 41)) == [(Q, "wij-a")]
    links = {(r["levering_id"], r["actueel"], r["vervangen_door"]) for r in store.quarter_links()}
    assert links == {("wij-a", 0, "wij-a2"), ("wij-a2", 1, None), ("wij-b", 1, None)}
    ds = store.dataset([Q])
    assert set(ds["levering_id"]) == {"wij-a2", "wij-b"}
    assert ds.loc[(ds["gebied_code"] == "GM0014") & (ds["indicator"] == "casussen_nieuw"), "waarde"].tolist() == [41]
    assert store.superseded_by("wij-a2") == [{"periode": Q, "levering_id": "wij-a"}]
    audit = store.audit()
    assert audit["actie"].tolist() == ["geaccepteerd", "geaccepteerd", "vervangen", "geaccepteerd"]
    # The same bytes are a duplicate for their own organisation only.
    assert store.accepted_with_hash("wij", "wij-groningen", "a" * 64).levering_id == "wij-a"
    assert store.accepted_with_hash("wij", "het-hogeland", "a" * 64) is None


def test_the_unique_index_refuses_a_second_current_row(store):
    store.record(_delivery("wij-a", "wij-groningen", "a" * 64), _values("GM0014", 40))
    store.record(_delivery("wij-b", "het-hogeland", "b" * 64, status="afgekeurd"), None)   # a delivery row, no quarter
    insert = sa.text("INSERT INTO delivery_quarters (levering_id, bron, organisatie, periode, actueel) "
                     "VALUES (:lid, 'wij', :org, :periode, 1)")
    with pytest.raises(sa.exc.IntegrityError, match="(?i)unique|duplicate"):
        with store.transaction() as conn:
            conn.execute(insert, {"lid": "wij-b", "org": "wij-groningen", "periode": Q})
    # The refused transaction left nothing behind, and the store still works on the same connection.
    assert store.current_organisations(Q) == {"wij": ["wij-groningen"]}
    with store.transaction() as conn:       # another organisation's current row is fine
        conn.execute(insert, {"lid": "wij-b", "org": "het-hogeland", "periode": Q})
        # ... and so is a second row that is not current.
        conn.execute(sa.text("INSERT INTO delivery_quarters (levering_id, bron, organisatie, periode, actueel) "
                             "VALUES ('wij-b', 'wij', 'wij-groningen', '2024Q2', 0)"))
    assert store.current_organisations(Q) == {"wij": ["het-hogeland", "wij-groningen"]}
    names = {r["name"] for r in sa.inspect(store.conn).get_indexes("delivery_quarters")}
    assert "one_current_delivery_per_organisation" in names


def test_mail_keys_are_found_in_the_json_details(store):
    store.log_event("mail_verstuurd", bron="wij", sleutel="afkeur:wij-a", aan=["x@example.test"])
    store.log_event("mail_mislukt", bron="wij", sleutel="afkeur:wij-b")
    assert store.mail_sent("afkeur:wij-a")
    assert not store.mail_sent("afkeur:wij-b")         # a failed mail is not a sent one
    assert not store.mail_sent("afkeur:wij")            # exact key, not a prefix


def test_rejected_unsettled_and_settled(store):
    store.record(_delivery("vt-x", "veilig-thuis-groningen", "d" * 64, bron="veilig_thuis", status="afgekeurd"), None)
    assert [r["levering_id"] for r in store.rejected("veilig_thuis")] == ["vt-x"]
    assert [d.levering_id for d in store.unsettled("veilig_thuis", "veilig-thuis-groningen")] == ["vt-x"]
    store.mark_settled("vt-x", "quarantine/veilig_thuis/vt-x__f.xlsx")
    assert store.unsettled("veilig_thuis", "veilig-thuis-groningen") == []
    assert store.delivery("vt-x").opgeslagen_als == "quarantine/veilig_thuis/vt-x__f.xlsx"
    assert store.current_quarters() == {}


def test_attempts_count_up_per_claimed_file(store):
    assert [store.start_attempt("wij/het-hogeland", "f.xlsx") for _ in range(3)] == [1, 2, 3]
    store.note_attempt("wij/het-hogeland", "f.xlsx", pid=123, failure="signaal: SIGKILL")
    row = store.attempts("wij/het-hogeland", "f.xlsx")
    assert (row["attempts"], row["last_pid"], row["last_failure"]) == (3, 123, "signaal: SIGKILL")
    store.finish_attempts("wij/het-hogeland", "f.xlsx")
    assert store.attempts("wij/het-hogeland", "f.xlsx") is None


def test_the_current_values_view_follows_every_correction(store):
    """``actuele_waarden`` is the store's own answer for BI tools in the same database: read
    with plain SQL (as a BI tool would), it holds the current delivery's values and nothing
    of a superseded one, with the file each came from."""
    def view() -> list[tuple]:
        return [tuple(r) for r in store.conn.execute(sa.text(
            "SELECT organisatie, gebied_code, indicator, waarde, levering_id, bestandsnaam FROM actuele_waarden "
            "WHERE indicator = 'casussen_nieuw' ORDER BY organisatie"))]

    store.record(_delivery("wij-a", "wij-groningen", "a" * 64), _values("GM0014", 40))
    store.record(_delivery("wij-b", "het-hogeland", "b" * 64), _values("GM1966", 7))
    assert view() == [("het-hogeland", "GM1966", "casussen_nieuw", 7.0, "wij-b", "wij-b.xlsx"),
                      ("wij-groningen", "GM0014", "casussen_nieuw", 40.0, "wij-a", "wij-a.xlsx")]
    store.record(_delivery("wij-a2", "wij-groningen", "c" * 64), _values("GM0014", 41))
    assert view() == [("het-hogeland", "GM1966", "casussen_nieuw", 7.0, "wij-b", "wij-b.xlsx"),
                      ("wij-groningen", "GM0014", "casussen_nieuw", 41.0, "wij-a2", "wij-a2.xlsx")]
    n = store.conn.execute(sa.text("SELECT count(*) FROM actuele_waarden")).scalar_one()
    assert n == len(store.dataset()) == 6
