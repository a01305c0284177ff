"""Blank partner templates (etl.tools.templates): generated from include/sources.yaml, accepted by the reader."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from etl.core.config import SOURCES
from etl.core.reference import gemeenten, wijken
from etl.core.sources import get_source
from etl.core.xlsx_safe import formula_cells
from etl.intake.analyse import analyse
from etl.tools.templates import INSTRUCTIONS, LISTS, case_rows, write_template


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    out = tmp_path_factory.mktemp("templates")
    return {s: write_template(s, out) for s in SOURCES}


def _list_values(wb, formula: str) -> list[str]:
    sheet, rng = formula.split("!")
    ws = wb[sheet.strip("'")]
    return [c.value for row in ws[rng.replace("$", "")] for c in row]


@pytest.mark.parametrize("source", SOURCES)
def test_sheets_and_headers_follow_the_source_description(templates, source):
    wb = openpyxl.load_workbook(templates[source])
    spec = get_source(source)
    assert wb.sheetnames == [INSTRUCTIONS, *[s.name for s in spec.sheets], LISTS]
    for sheet in spec.sheets:
        ws = wb[sheet.name]
        header = [c.value for c in ws[1]]
        assert header[:len(sheet.columns)] == [c.name for c in sheet.columns]
        assert not any(header[len(sheet.columns):])
        assert ws.freeze_panes == "A2"
        # One greyed example row, marked in its first cell; nothing else a partner could leave in.
        assert ws.max_row == 2 and ws["A2"].value == "Voorbeeld"
        assert all(c.font.i and c.fill.fgColor.rgb.endswith("EDEDED") for c in ws[2][:len(sheet.columns)])


@pytest.mark.parametrize("source", SOURCES)
def test_data_validation_lists(templates, source):
    wb = openpyxl.load_workbook(templates[source])
    spec = get_source(source)
    expected = {"gemeente": [g.naam for g in gemeenten()], "wijk": [w.naam for w in wijken()], "bool": ["ja", "nee"]}
    for sheet in spec.sheets:
        ws = wb[sheet.name]
        by_col = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                by_col[rng.min_col] = dv
        for i, col in enumerate(sheet.columns, start=1):
            dv = by_col.get(i)
            if col.type in ("periode", "gemeente", "wijk", "bool", "enum"):
                assert dv is not None and dv.type == "list", (sheet.name, col.name)
                values = _list_values(wb, dv.formula1)
                if col.type == "periode":
                    assert values[0] == "2023Q1" and f"{dt.date.today().year}Q4" in values
                elif col.type == "enum":
                    assert values == list(col.allowed)
                else:
                    assert values == expected[col.type]
                assert dv.showErrorMessage and dv.error
            elif col.type == "count":
                # A warning, not a stop: "<5" is a valid entry for a suppressed count on a sheet of totals.
                assert dv is not None and dv.type == "whole" and dv.errorStyle == "warning"
                assert "<5" in dv.error
                assert ("geen <5" in dv.error) == case_rows(sheet), (sheet.name, dv.error)
            if col.type == "periode":
                # The prompt names spellings the list does not hold: the list must not refuse them.
                assert dv.errorStyle == "warning" and "2024-Q3" in dv.error
            elif col.type in ("id", "text"):
                assert dv is None
            assert dv is None or all(r.max_row >= 1000 for r in dv.sqref.ranges)


@pytest.mark.parametrize("source", SOURCES)
def test_instructions_in_dutch(templates, source):
    wb = openpyxl.load_workbook(templates[source])
    text = " ".join(str(c.value) for row in wb[INSTRUCTIONS].iter_rows() for c in row if c.value)
    spec = get_source(source)
    assert f"inbox/{source}/" in text and f"{spec.deadline_dagen} dagen" in text
    assert "<5" in text and "herleidbaar" in text and "geen 0" in text
    for sheet in spec.sheets:
        assert f"Tabblad {sheet.name}" in text
        for col in sheet.columns:
            assert col.name in text
    assert formula_cells(templates[source]) == []


def test_wij_instructions_fit_the_wij_template(templates):
    """Issue 13: no gemeente column, no list 'hieronder', the partner's own outbox, where <5 is allowed."""
    wb = openpyxl.load_workbook(templates["wij"])
    text = " ".join(str(c.value) for row in wb[INSTRUCTIONS].iter_rows() for c in row if c.value)
    assert "gemeente, " not in text.split("keuzelijst")[0].split("Kies ")[-1]
    assert "Kies periode, wijk, ja/nee en de vaste waarden uit de keuzelijst" in text
    assert "outbox/wij/" in text and "outbox/." not in text
    assert "hieronder)" not in text.replace("(zie hieronder)", "")
    assert "Tabblad Casussen" in text and "nooit <5" in text
    assert "mag u op dit tabblad zelf afschermen door <5" in text  # Groepsaanbod, a sheet of totals
    prompts = [dv.prompt for ws in wb.worksheets for dv in ws.data_validations.dataValidation]
    assert not [p for p in prompts if "hieronder" in p]
    assert wb["Groepsaanbod"]["E2"].value == "<5" and wb["Casussen"]["I2"].value == 2


def test_filled_in_template_is_accepted_without_warnings(templates, tmp_path):
    """Filled in under the example row, which stays in and is not read."""
    wb = openpyxl.load_workbook(templates["wij"])
    ws = wb["Casussen"]
    rows = [["2024Q3", "C-001", "Beijum", dt.date(2024, 7, 3), None, "partnergeweld", "ja", "nee", 2],
            ["2024Q3", "C-002", "Centrum", dt.date(2024, 5, 3), dt.date(2024, 8, 1), "kindermishandeling", "nee", "ja", 1]]
    for r, row in enumerate(rows, start=3):
        for c, v in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=v)
    assert ws["A2"].value == "Voorbeeld"
    wb["Groepsaanbod"].append(["2024Q3", "Beijum", "Kikkergroep", 1, 8])
    filled = tmp_path / "wij_2024Q3.xlsx"
    wb.save(filled)
    result = analyse(filled, get_source("wij"))
    assert result.accepted, [(p.code, p.message) for p in result.problems]
    assert result.problems == []  # the template's own sheets are not "unknown sheets"
    assert result.periodes == ["2024Q3"]
    cases = result.read.sheets["Casussen"].frame
    assert sorted(cases["casus_id"]) == ["C-001", "C-002"]  # the example row is skipped


def test_template_is_reproducible(tmp_path):
    a = write_template("veilig_thuis", tmp_path / "a").read_bytes()
    b = write_template("veilig_thuis", tmp_path / "b").read_bytes()
    assert a == b
