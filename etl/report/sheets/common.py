"""Small helpers shared by the sheet modules: protected values into cells, paragraphs."""

from __future__ import annotations

import math

from etl.report.disclosure import SECONDARY_TEXT, Shown
from etl.report.style import (
    KIND_FORMAT,
    MISSING_TEXT,
    NOT_APPLICABLE,
    SheetWriter,
    hidden_style,
    number_style,
)


def source_sheet(wb, ctx, title: str, bron: str, heading: str, subtitle: str, partner: str) -> tuple[SheetWriter, int]:
    """A per-source sheet with its title; says plainly when the partner's delivery is missing.

    A missing partner is not a zero: the sheet shows the notice above the (empty) table.
    Returns the writer and the first free row.
    """
    w = SheetWriter(wb.create_sheet(title))
    r = w.title(heading, subtitle)
    if not ctx.delivered(bron):
        w.put(r, 1, f"De levering van {partner} voor dit kwartaal ontbreekt — geen 0.", "vet", measure=False)
        r += 2
    return w, r


UNIT_TEXT = {"aantal": "aantal", "per_1000": "per 1.000 inwoners", "aandeel": "percentage", "dagen": "dagen",
             "getal": "getal"}


def put_shown(w: SheetWriter, row: int, col: int, cell: Shown | None, soort: str, rowkind: str = "",
              status: str | None = None) -> None:
    """A protected cell: the number with the format of its kind, or ``<5`` / ``x`` / ``ontbreekt``."""
    if cell is None or cell.missing:
        # A region total over a partner-suppressed municipality is unknown *and* protected.
        text = SECONDARY_TEXT if status == "suppressed_by_partner" else MISSING_TEXT
        w.put(row, col, text, hidden_style(rowkind))
    elif cell.hidden:
        w.put(row, col, cell.shown, hidden_style(rowkind))
    else:
        w.put(row, col, cell.value, number_style(KIND_FORMAT[soort], rowkind))


def put_number(w: SheetWriter, row: int, col: int, value: float | None, kind: str, rowkind: str = "",
               hidden: bool = False, empty: str | None = NOT_APPLICABLE) -> None:
    """A computed number (rate, interval bound, share): ``x`` when its inputs are hidden."""
    if hidden:
        w.put(row, col, SECONDARY_TEXT, hidden_style(rowkind))
    elif value is None or (isinstance(value, float) and not math.isfinite(value)):
        w.put(row, col, empty, hidden_style(rowkind))
    else:
        w.put(row, col, value, number_style(kind, rowkind))


def paragraph(w: SheetWriter, row: int, text: str, *, first_col: int = 1, last_col: int = 8,
              chars_per_line: int = 140, style: str = "tekst_wrap") -> int:
    """A wrapped paragraph over merged columns; returns the next row."""
    w.put(row, first_col, text, style, measure=False)
    if last_col > first_col:
        w.ws.merge_cells(start_row=row, start_column=first_col, end_row=row, end_column=last_col)
    lines = sum(max(1, math.ceil(len(part) / chars_per_line)) for part in text.split("\n"))
    w.ws.row_dimensions[row].height = 14 * lines + 3
    return row + 1


def section(w: SheetWriter, row: int, text: str, last_col: int = 8) -> int:
    w.put(row, 1, text, "sectie", measure=False)
    for c in range(2, last_col + 1):
        w.put(row, c, None, "sectie", measure=False)
    w.ws.row_dimensions[row].height = 20
    return row + 1
