"""Text that looks like a formula is written into our workbooks as text, never as a formula.

Partners control some of the text that ends up in workbooks we write (headers they
typed, free-text columns, file names, problem descriptions that quote them). A string
starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return in front of
one, the OWASP "CSV injection" list) can become a live formula: openpyxl turns every
string that starts with ``=`` into a formula cell, xlsxwriter's ``write()`` does the
same, and a person who edits such a cell in Excel (F2, Enter) turns ``+``/``-``/``@``
text into a formula too.

The choice (documented in docs/intake.md): such strings stay *exactly* as the partner
wrote them — no visible apostrophe, no mangling — but are stored as explicit text:

* ``safe_cell_value(v)`` returns a value that openpyxl always writes as a string cell
  (a one-run ``CellRichText``, written as an inline string); use it with
  ``ws.append([...])`` or ``cell.value = ...``. Other values pass through unchanged.
* ``set_safe(cell, v)`` sets an openpyxl cell and, for risky text, also forces the
  cell type to ``"s"`` and sets Excel's *quotePrefix* style: the apostrophe-equivalent
  that keeps the cell text when someone edits it in Excel.
* With xlsxwriter, write partner text with ``worksheet.write_string(...)``, never ``write``.

``formula_cells(path)`` lists the formula cells of a saved workbook, for tests that
check a workbook we wrote holds no formula we did not put there ourselves.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from defusedxml import ElementTree as SafeET
from openpyxl.cell.rich_text import CellRichText

RISKY_FIRST = ("=", "+", "-", "@", "\t", "\r")
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def is_risky(value: object) -> bool:
    """True for text a spreadsheet program could take as a formula."""
    return isinstance(value, str) and not isinstance(value, CellRichText) and value.startswith(RISKY_FIRST)


def safe_cell_value(value: object) -> object:
    """The value to hand to openpyxl: risky text becomes an explicit string cell, the rest is unchanged."""
    if is_risky(value):
        return CellRichText([value])
    return value


def set_safe(cell, value: object) -> None:
    """Set an openpyxl cell; risky text is stored as text with Excel's quote prefix."""
    cell.value = value
    if is_risky(value):
        cell.data_type = "s"
        cell.quotePrefix = True


def formula_cells(path: Path) -> list[str]:
    """``Sheet member!A1`` for every cell of a saved .xlsx that holds a formula."""
    out: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with zf.open(name) as fh:
                    for _event, el in SafeET.iterparse(fh, events=("end",)):
                        if el.tag == f"{_NS}c":
                            if el.find(f"{_NS}f") is not None:
                                out.append(f"{name}!{el.get('r', '?')}")
                            el.clear()
    return out
