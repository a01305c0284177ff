"""The workbook with local teams delivering beside WIJ Groningen (issue 15): the WIJ sheet shows
the region per municipality, the Voorblad says who delivered and who did not."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from etl.intake.inbox import process_inbox
from etl.report import build_workbook
from etl.tools.samples import generate_samples
from tests.conftest import drop

QUARTER = "2024Q4"


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    from etl.core.config import DataDirs

    samples = generate_samples(tmp_path_factory.mktemp("teams") / "inbox", [QUARTER],
                               local_teams=("het-hogeland", "westerkwartier"))
    dirs = DataDirs(tmp_path_factory.mktemp("data") / "data").ensure()
    for f in samples.files:
        drop(dirs, samples.folder(f), f)
    outcomes = process_inbox(dirs)
    assert {o.status for o in outcomes} == {"geaccepteerd"}
    path = build_workbook(QUARTER, dirs, made_at=dt.datetime(2025, 1, 20, 9, 0))
    return openpyxl.load_workbook(path), samples


def _rows(ws):
    return [[c for c in row] for row in ws.iter_rows(values_only=True)]


def test_wij_sheet_has_a_row_per_municipality_and_an_honest_region_line(workbook):
    wb, samples = workbook
    rows = _rows(wb["WIJ"])
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Per gemeente: WIJ Groningen"))
    table = {r[0]: r for r in rows[start:] if r[0]}
    hogeland = table["Het Hogeland"]
    assert hogeland[1] == "ja"
    assert hogeland[3] == len(samples.truth["wij/het-hogeland/Casussen"])       # actieve casussen
    assert table["Westerkwartier"][1] == "ja"
    assert table["Groningen"][3] == len(samples.truth["wij/Casussen"])
    for missing in ("Eemsdelta", "Pekela", "Westerwolde"):
        assert table[missing][1] == "nee" and table[missing][3] == "ontbreekt"
    total = table["Totaal geleverde teams (3 van 10)"]
    assert total[3] == sum(len(samples.truth[k]) for k in
                           ("wij/Casussen", "wij/het-hogeland/Casussen", "wij/westerkwartier/Casussen"))
    assert table["Totaal regio"][3] == "ontbreekt"
    # The city table above lists only the city's wijken.
    city_part = [r[0] for r in rows[:start] if r[0]]
    assert "Beijum" in city_part and "Winsum" not in city_part and "Zuidhorn" not in city_part
    assert any(r[0] == "Winsum" for r in rows[start:]) is False      # wijken of teams are not listed per wijk


def test_voorblad_names_the_teams_that_delivered_and_those_missing(workbook):
    wb, _ = workbook
    texts = [str(c) for r in _rows(wb["Voorblad"]) for c in r if c]
    assert "Lokaal team Het Hogeland" in texts and "Lokaal team Westerkwartier" in texts
    line = next(t for t in texts if "organisaties hebben geleverd" in t)
    assert line.startswith("WIJ Groningen: 3 van de 10 organisaties hebben geleverd")
    assert "Lokaal team Eemsdelta" in line
    assert not any(t.startswith("Alle verwachte leveringen") for t in texts)
