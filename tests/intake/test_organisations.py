"""Several organisations deliver one source (issue 15): the local teams beside WIJ Groningen.

End to end on the real inbox: generated sample files for two local teams, dropped into
their own partner folders, processed by ``process_inbox``; then what the partner sees (the
receipt), what the store keeps (one current delivery per organisation and quarter) and
what the dataset says about the region.
"""

from __future__ import annotations

import json
import shutil

import openpyxl
import pandas as pd
import pytest

from etl.core.organisations import organisation, organisations
from etl.intake.inbox import process_inbox
from etl.store.dataset import load
from etl.store.db import Store
from etl.tools.samples import generate_samples
from tests.conftest import drop

QUARTER = "2024Q4"
TEAMS = ("het-hogeland", "westerkwartier")


@pytest.fixture(scope="module")
def team_samples(tmp_path_factory):
    return generate_samples(tmp_path_factory.mktemp("teams") / "inbox", [QUARTER], local_teams=TEAMS)


def _file_of(samples, folder: str):
    return next(f for f in samples.files if samples.folder(f) == folder)


def _drop_all(dirs, samples) -> None:
    for f in samples.files:
        drop(dirs, samples.folder(f), f)


def _value(ds: pd.DataFrame, gtype: str, code: str, ind: str) -> pd.Series:
    hit = ds[(ds.bron == "wij") & (ds.gebied_type == gtype) & (ds.gebied_code == code) & (ds.indicator == ind)]
    assert len(hit) == 1, (gtype, code, ind, len(hit))
    return hit.iloc[0]


def _with_wijk(src, dst, wijk: str) -> None:
    """The same workbook with the first case row's wijk replaced."""
    wb = openpyxl.load_workbook(src)
    ws = wb["Casussen"]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value in {w for w in organisation("wij", "het-hogeland").wijken}:
                cell.value = wijk
                wb.save(dst)
                return
    raise AssertionError("no wijk cell found")


def test_local_teams_deliver_their_own_municipality_and_the_region_adds_them_up(data_dirs, team_samples):
    _drop_all(data_dirs, team_samples)
    outcomes = process_inbox(data_dirs)
    assert {o.status for o in outcomes} == {"geaccepteerd"}, [(o.bestand, o.problem_codes) for o in outcomes]
    by_org = {o.organisatie: o for o in outcomes if o.bron == "wij"}
    assert set(by_org) == {"wij-groningen", *TEAMS}
    # The receipt names the organisation, and lies in its own outbox folder.
    [receipt] = (data_dirs.outbox / "wij" / "het-hogeland").glob("*.ontvangstbewijs.json")
    assert json.loads(receipt.read_text())["organisatie"] == "het-hogeland"
    assert list((data_dirs.outbox / "wij" / "het-hogeland").glob("*.ontvangstbewijs.txt"))

    ds = load([QUARTER], data_dirs)
    truth = {t: team_samples.truth[f"wij/{t}/Casussen"] for t in TEAMS}
    for team, code in (("het-hogeland", "GM1966"), ("westerkwartier", "GM1969")):
        assert _value(ds, "gemeente", code, "casussen_actief").waarde == len(truth[team])
        # Its wijken are its own (include/wijken.csv), never the city's.
        wijk_codes = set(ds[(ds.bron == "wij") & (ds.gebied_type == "wijk")
                            & (ds.organisatie == team)]["gebied_code"])
        assert wijk_codes and wijk_codes <= set(organisation("wij", team).wijken)
    city = team_samples.truth["wij/Casussen"]
    assert _value(ds, "gemeente", "GM0014", "casussen_actief").waarde == len(city)

    # Three of ten delivered: the region itself is unknown, the sum of what arrived is labelled as such.
    region = _value(ds, "regio", "regio", "casussen_actief")
    assert region.status == "missing" and pd.isna(region.waarde)
    delivered = _value(ds, "regio", "geleverd", "casussen_actief")
    assert delivered.waarde == len(city) + len(truth["het-hogeland"]) + len(truth["westerkwartier"])
    assert "3 van de 10" in delivered.toelichting and "Lokaal team Eemsdelta" in delivered.toelichting
    known = _value(ds, "regio", "geleverd", "nazorg_bekend").waarde
    assert _value(ds, "regio", "geleverd", "nazorg_aandeel").waarde == pytest.approx(
        _value(ds, "regio", "geleverd", "nazorg_aantal").waarde / known)
    # No median for a region: it does not add up.
    assert ds[(ds.gebied_type == "regio") & (ds.indicator == "duur_mediaan_dagen") & (ds.bron == "wij")].empty


def test_a_correction_of_one_team_leaves_the_others_current(data_dirs, team_samples, tmp_path):
    _drop_all(data_dirs, team_samples)
    process_inbox(data_dirs)
    original = _file_of(team_samples, "wij/het-hogeland")
    corrected = tmp_path / original.name
    wb = openpyxl.load_workbook(original)
    ws = wb["Casussen"]
    ws.delete_rows(ws.max_row - 2)          # one case fewer (above the note line)
    wb.save(corrected)
    drop(data_dirs, "wij/het-hogeland", corrected, "LokaalTeam_HetHogeland_2024Q4_correctie.xlsx")
    outcomes = process_inbox(data_dirs)
    assert [o.status for o in outcomes] == ["geaccepteerd"], [(o.bestand, o.problem_codes) for o in outcomes]
    with Store.open(data_dirs) as store:
        current = store.current_organisations(QUARTER)["wij"]
        links = [q for q in store.quarter_links() if q["bron"] == "wij" and q["periode"] == QUARTER]
    assert sorted(current) == sorted(["wij-groningen", *TEAMS])
    superseded = [q for q in links if not q["actueel"]]
    assert len(superseded) == 1 and superseded[0]["organisatie"] == "het-hogeland"
    assert superseded[0]["vervangen_door"] == outcomes[0].levering_id
    ds = load([QUARTER], data_dirs)
    n_team = len(team_samples.truth["wij/het-hogeland/Casussen"])
    assert _value(ds, "gemeente", "GM1966", "casussen_actief").waarde in (n_team - 1, n_team)
    assert _value(ds, "gemeente", "GM1966", "casussen_actief").levering_id == outcomes[0].levering_id
    assert _value(ds, "gemeente", "GM0014", "casussen_actief").waarde == len(team_samples.truth["wij/Casussen"])


def test_a_file_naming_another_teams_wijk_is_refused_and_says_which(data_dirs, team_samples, tmp_path):
    bad = tmp_path / "LokaalTeam_HetHogeland_2024Q4.xlsx"
    _with_wijk(_file_of(team_samples, "wij/het-hogeland"), bad, "Zuidhorn")       # Westerkwartier's
    drop(data_dirs, "wij/het-hogeland", bad)
    [outcome] = process_inbox(data_dirs)
    assert outcome.status == "afgekeurd"
    assert "andere_organisatie" in outcome.problem_codes
    text = next((data_dirs.outbox / "wij" / "het-hogeland").glob("*.ontvangstbewijs.txt")).read_text()
    assert "Zuidhorn" in text
    assert not list((data_dirs.inbox / "wij" / "het-hogeland").iterdir())
    with Store.open(data_dirs) as store:
        assert "wij" not in store.current_organisations(QUARTER)


def test_a_file_in_the_root_of_a_shared_source_is_refused_unread(data_dirs, team_samples):
    drop(data_dirs, "wij/x", _file_of(team_samples, "wij/wij-groningen"))       # make the folder tree
    shutil.move(str(data_dirs.inbox / "wij" / "x" / "WIJ_casussen_2024Q4.xlsx"), data_dirs.inbox / "wij")
    (data_dirs.inbox / "wij" / "x").rmdir()
    import os
    os.utime(data_dirs.inbox / "wij" / "WIJ_casussen_2024Q4.xlsx", (0, 0))
    [outcome] = process_inbox(data_dirs)
    assert outcome.status == "afgekeurd" and outcome.problem_codes == ("organisatie_onbekend",)
    text = next((data_dirs.outbox / "wij").glob("*.ontvangstbewijs.txt")).read_text()
    for org in organisations("wij")[:2]:
        assert org.code in text or org.naam in text
    assert not (data_dirs.inbox / "wij" / "WIJ_casussen_2024Q4.xlsx").exists()
