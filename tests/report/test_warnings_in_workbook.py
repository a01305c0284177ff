"""Issue 12 in the workbook: a delivery accepted with warnings, and what it leaves unknown, is said.

A real WIJ 2024Q4 file goes through the real intake into a copy of the sample store: a
blank ``deelnemers`` cell on Groepsaanbod (the city's "Deelnemers groepsaanbod" becomes
unknown) and a column the contract does not know (a warning). The corrected file
replaces the earlier WIJ delivery for that quarter.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from etl.intake.inbox import process_inbox
from etl.report import build_workbook
from tests.conftest import drop
from tests.report.test_report import copy_store, table_with

PERIODE = "2024Q4"
MADE_AT = dt.datetime(2025, 1, 5, 6, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


@pytest.fixture(scope="module")
def warned(ingested_samples, sample_set, tmp_path_factory):
    src, _ = ingested_samples
    root = tmp_path_factory.mktemp("warned")
    dirs = copy_store(src, root / "data")
    original = next(f for f in sample_set.files if sample_set.bron(f) == "wij" and "2024Q4" in f.name)
    wb = openpyxl.load_workbook(original)
    groups = wb["Groepsaanbod"]
    header = next(r for r in range(1, 10) if groups.cell(r, 1).value == "periode")
    deel = next(c for c in range(1, 10) if groups.cell(header, c).value == "deelnemers")
    groups.cell(header + 1, deel).value = None                      # unknown, not 0
    cases = wb["Casussen"]
    cases.cell(3, cases.max_column + 1).value = "interne notitie"     # a column we do not know
    fixed = root / "WIJ_casussen_2024Q4_verbeterd.xlsx"
    wb.save(fixed)
    drop(dirs, "wij", fixed)
    outcomes = process_inbox(dirs)
    assert [o.status for o in outcomes] == ["geaccepteerd"], outcomes
    with sqlite3.connect(dirs.db_path) as conn:
        problems = json.loads(conn.execute(
            "SELECT problemen FROM deliveries WHERE bestandsnaam = ?", (fixed.name,)).fetchone()[0])
    warnings = [p for p in problems if p["severity"] == "waarschuwing"]
    assert warnings, problems
    path = build_workbook(PERIODE, dirs, made_at=MADE_AT)
    return openpyxl.load_workbook(path), fixed.name, warnings


def _strings(ws) -> list[str]:
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_voorblad_says_accepted_with_warnings_what_is_unknown_and_what_it_replaces(warned):
    wb, name, warnings = warned
    t = table_with(wb["Voorblad"], "Bron", "Bestand", "Ontvangen op", "Vervangt", "Volledig?")
    new = next(r for r in t["rows"] if r[1] == name)
    old = next(r for r in t["rows"] if r[0] == "WIJ Groningen" and r[1] != name)
    n = len(warnings)
    assert new[3] == "ja" and new[5].startswith(f"aangenomen met {n} waarschuwing")
    assert new[4] == f"vervangt de levering van {old[2]}"
    assert old[3] == f"nee, vervangen door de levering van {new[2]}" and not old[5]
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d", old[2])
    # The other partners' sample files are messy too (a <5, absent shelter rows): whatever
    # they say, it is one of the two plain forms.
    others = [r for r in t["rows"] if r[0] != "WIJ Groningen"]
    assert others and all(r[5] == "compleet" or r[5].startswith("aangenomen met ") for r in others)
    text = _strings(wb["Voorblad"])
    sentence = next(s for s in text if s.startswith("WIJ Groningen: aangenomen met"))
    assert "Deelnemers groepsaanbod (Groningen, Beijum)" in sentence
    assert not any("Alle verwachte leveringen" in s for s in text)


def test_datakwaliteit_counts_the_warnings_per_delivery(warned):
    wb, name, warnings = warned
    t = table_with(wb["Datakwaliteit"], "Bron", "Controles uitgevoerd", "Waarschuwingen")
    col = t["headers"].index("Waarschuwingen")
    rows = {r[1]: r for r in t["rows"]}
    assert rows[name][col] == len(warnings)
    listed = table_with(wb["Datakwaliteit"], "Bron", "Melding", "Cellen")
    assert len([r for r in listed["rows"] if r[0] == "WIJ Groningen"]) == len(warnings)


def test_key_figure_missing_because_of_a_warning_says_so(warned):
    wb, _, _ = warned
    t = table_with(wb["Samenvatting"], "Kernindicator", "Oordeel", "Toelichting")
    row = next(r for r in t["rows"] if r[0] == "Deelnemers groepsaanbod")
    assert row[3] == "ontbreekt"
    assert "ontbreekt door" in row[11] and "WIJ Groningen" in row[11]
    # A figure that is there has no such note.
    other = next(r for r in t["rows"] if r[0] == "Adviezen")
    assert "ontbreekt door" not in (other[11] or "")
