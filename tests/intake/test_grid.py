"""The column grids (fastexcel into Arrow, calamine for mixed sheets) hold exactly the cells calamine reads.

Compared cell by cell with python-calamine's ``to_python`` on workbooks that have the
awkward parts: title rows above the header, a table that starts in column C, mixed
types in one column (``<5`` between numbers, ``1.234`` as text and as a number),
dates, booleans, a hidden sheet, a note under the table, shared strings of a second
sheet stored after the first sheet's.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from etl.core.sources import get_source
from etl.intake.grid import load_sheets
from etl.intake.read import load_sheets_for, locate, read_workbook
from etl.intake.safety import check_workbook


def _calamine(path) -> dict[str, list[list[object]]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {m.name: wb.get_sheet_by_name(m.name).to_python(skip_empty_area=False) for m in wb.sheets_metadata}


def _norm(rows) -> list[list[object]]:
    out = []
    for r in rows:
        r = [None if v == "" else (dt.datetime(v.year, v.month, v.day) if type(v) is dt.date else v) for v in r]
        while r and r[-1] is None:
            r.pop()
        out.append(r)
    while out and not out[-1]:
        out.pop()
    return out


def _write(path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Casussen"
    ws["C1"] = "Titel"
    for j, h in enumerate(["periode", "casus_id", "wijk", "startdatum", "einddatum", "vorm_geweld",
                           "doorverwezen_veilig_thuis", "nazorg", "aantal_kinderen"]):
        ws.cell(row=3, column=3 + j, value=h)
    for i in range(400):
        ws.append([None, None, "2024-Q4", f"C-{i:06d}", "Paddepoel", dt.date(2024, 1, 1) + dt.timedelta(days=i),
                   None if i % 3 else dt.datetime(2024, 12, 1, 10, 30), "fysiek geweld", "ja" if i % 2 else "nee", "ja", i % 4])
    ws.append([])
    ws.append([None, None, "Bron: eigen registratie"])
    mixed = wb.create_sheet("Meldingen")
    mixed.append(["Veilig Thuis 2024-Q4"])
    mixed.append(["periode", "gemeente", "adviezen", "meldingen_totaal"])
    mixed.append(["2024-Q4", "Groningen", "<5", 1.234])
    mixed.append(["2024-Q4", "Eemsdelta", 12, "1.234"])
    mixed.append(["Totaal", None, None, 24])
    hidden = wb.create_sheet("Verborgen")
    hidden.sheet_state = "hidden"
    hidden.append(["iets", 1, True])
    wb.save(path)


def test_column_grids_hold_the_cells_calamine_reads(tmp_path):
    path = tmp_path / "wb.xlsx"
    _write(path)
    reference = _calamine(path)
    for sheets in (load_sheets(path), load_sheets_for(path, get_source("wij"))):
        assert list(sheets) == list(reference)
        for name, grid in sheets.items():
            assert _norm(grid.to_lists()) == _norm(reference[name]), name
    typed = load_sheets_for(path, get_source("wij"))
    assert typed["Casussen"].reader == "fastexcel" and typed["Casussen"].typed_from == 3   # body under the header
    assert load_sheets(path)["Meldingen"].reader == "calamine"                            # mixed column: cell by cell


def test_read_from_located_grids_equals_read_from_plain_rows(tmp_path):
    path = tmp_path / "wb.xlsx"
    _write(path)
    source = get_source("wij")
    info = check_workbook(path)
    located = locate(load_sheets_for(path, source), source)
    from_columns = read_workbook(located, source, info)
    from_rows = read_workbook({n: _norm(r) for n, r in _calamine(path).items()}, source, info)
    assert [p.to_dict() for p in from_columns.problems] == [p.to_dict() for p in from_rows.problems]
    assert set(from_columns.sheets) == set(from_rows.sheets) == {"Casussen"}
    a, b = from_columns.sheets["Casussen"], from_rows.sheets["Casussen"]
    assert a.frame.equals(b.frame) and list(a.frame.dtypes) == list(b.frame.dtypes)
    assert len(a.frame) == 400 and a.letters["periode"] == "C"
    assert (a.suppressed, a.unreadable, a.totals_row) == (b.suppressed, b.unreadable, b.totals_row)


@given(st.lists(st.integers(-1, 40), max_size=60))
def test_present_codes_is_unique_of_the_codes_that_are_cells(codes):
    from etl.intake.grid import present_codes

    arr = np.array(codes, dtype=np.int32)
    assert present_codes(arr, 41).tolist() == np.unique(arr[arr >= 0]).tolist()
    assert present_codes(arr, 0).tolist() == np.unique(arr[arr >= 0]).tolist()     # a short dictionary is no excuse
