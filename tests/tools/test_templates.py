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
from etl.tools.templates import INSTRUCTIONS, LISTS, write_template


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
        assert [c.value for c in ws[1]] == [c.name for c in sheet.columns]
        assert ws.freeze_panes == "A2"
        assert ws.max_row == 1  # blank: no example rows a partner could leave in by mistake


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
                # A warning, not a stop: "<5" is a valid entry for a suppressed count.
                assert dv is not None and dv.type == "whole" and dv.errorStyle == "warning"
                assert "<5" in dv.error
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


def test_filled_in_template_is_accepted_without_warnings(templates, tmp_path):
    wb = openpyxl.load_workbook(templates["wij"])
    ws = wb["Casussen"]
    rows = [["2024Q3", "C-001", "Beijum", dt.date(2024, 7, 3), None, "partnergeweld", "ja", "nee", 2],
            ["2024Q3", "C-002", "Centrum", dt.date(2024, 5, 3), dt.date(2024, 8, 1), "kindermishandeling", "nee", "ja", 1]]
    for r, row in enumerate(rows, start=2):
        for c, v in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=v)
    wb["Groepsaanbod"].append(["2024Q3", "Beijum", "Kikkergroep", 1, 8])
    filled = tmp_path / "wij_2024Q3.xlsx"
    wb.save(filled)
    result = analyse(filled, get_source("wij"))
    assert result.accepted, [(p.code, p.message) for p in result.problems]
    assert result.problems == []  # the template's own sheets are not "unknown sheets"
    assert result.periodes == ["2024Q3"]


def test_template_is_reproducible(tmp_path):
    a = write_template("veilig_thuis", tmp_path / "a").read_bytes()
    b = write_template("veilig_thuis", tmp_path / "b").read_bytes()
    assert a == b
