"""What a reader sees of a workbook cell: does its text fit, is a page's text Dutch.

Independent of ``etl.report.style`` on purpose (that module sizes the columns; these
checks must be able to disagree with it). Widths are in Excel column units (the width
of a "0" in the default font); the character widths below are Calibri/Carlito 10 pt
averages, scaled (``SCALE``) to what LibreOffice draws on a machine without Calibri, which
is wider: text that fits there fits in Excel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

#: Units per character, by font size and weight (Calibri 10 pt regular ~0.75).
NARROW = set("iljtfr.,:;'!|() ")
WIDE = set("mwMW@%")
DEFAULT_WIDTH = 8.43
#: LibreOffice without Calibri draws it in a wider substitute; measured on the demo
#: render, "2. Eerder signaleren en melden" (30 characters) shows 29 in a column of 22.
SCALE = 1.15
DEFAULT_HEIGHT = 15.0

#: Words that give English or code away on a page for Dutch readers.
ENGLISH_WORDS = (
    "the", "and", "with", "missing", "suppressed", "partner_suppressed", "delivery", "deliveries", "sheet",
    "value", "values", "total", "count", "share", "rate", "signal", "warning", "warnings", "error", "failed",
    "passed", "evaluated", "true", "false", "none", "null", "nan", "yes", "unknown", "region", "quarter",
    "upper", "lower", "limit", "limits", "mean", "centre", "center", "sigma", "making", "data count", "xmr",
    "id", "hash", "sha256", "status ok",
)
#: Dataset codes that must never reach a reader (the Data sheet says them in words).
CODES = ("suppressed_by_partner", "gebied_type", "gebied_code", "levering_id", "wijkgroep")


def char_units(text: str, size: float = 10.0, bold: bool = False) -> float:
    units = 0.0
    for ch in text:
        if ch in NARROW:
            units += 0.42
        elif ch in WIDE or ch.isupper():
            units += 0.95
        else:
            units += 0.78
    return units * size / 10.0 * (1.08 if bold else 1.0) * SCALE


def column_width(ws, col: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(col))
    return dim.width if dim is not None and dim.width else DEFAULT_WIDTH


def row_height(ws, row: int) -> float | None:
    """The row's fixed height, or None when the program sizes it (no custom height)."""
    dim = ws.row_dimensions.get(row)
    return dim.height if dim is not None and dim.height else None


def displayed(cell) -> str:
    """The text a number or string shows in the cell (Dutch-neutral: one digit per character)."""
    v = cell.value
    if isinstance(v, bool):
        return "WAAR"
    if isinstance(v, (int, float)):
        fmt = cell.number_format or "General"
        if "%" in fmt:
            decimals = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
            return f"{v * 100:,.{decimals}f}%"
        if "0.0" in fmt:
            return f"{v:,.1f}"
        if "#,##0" in fmt:
            return f"{v:,.0f}"
        return f"{v:g}" if isinstance(v, float) else str(v)
    return str(v)


def wrapped_lines(text: str, width_units: float, size: float, bold: bool) -> int:
    """Greedy word wrap of ``text`` in a column of ``width_units`` (about 1 unit of padding)."""
    usable = max(width_units - 0.8, 1.0)
    total = 0
    for para in text.split("\n"):
        lines, current = 1, 0.0
        space = char_units(" ", size, bold)
        for word in para.split():
            w = char_units(word, size, bold)
            need = w if current == 0 else current + space + w
            if need > usable and current:
                lines += 1
                current = w
            else:
                current = need
        total += lines
    return total


@dataclass(frozen=True)
class CutOff:
    sheet: str
    cell: str
    text: str
    need: float
    have: float
    kind: str   # "breed" (wider than its column) or "hoog" (more lines than the row holds)

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell} ({self.kind}: {self.need:.1f} > {self.have:.1f}): {self.text[:70]!r}"


def _merged(ws) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    out = {}
    for rng in ws.merged_cells.ranges:
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                out[(r, c)] = (rng.min_row, rng.min_col, rng.max_row, rng.max_col)
    return out


def _print_rows(ws) -> tuple[int, int] | None:
    area = ws.print_area
    if not area:
        return None
    ref = area[0] if isinstance(area, (list, tuple)) else area
    m = re.search(r"\$?[A-Z]+\$?(\d+):\$?[A-Z]+\$?(\d+)", str(ref))
    return (int(m.group(1)), int(m.group(2))) if m else None


def cut_off_cells(ws) -> list[CutOff]:
    """Cells whose text a printed page does not show whole.

    Unwrapped text may run on into empty neighbours (as Excel and LibreOffice draw it),
    in the direction of its alignment; numbers never do (they become ``###``). Wrapped
    text must fit its row height when the row has a fixed height (a row without one is
    sized by the program). Merged cells count the width and height of their range.
    """
    merged = _merged(ws)
    rows = _print_rows(ws)
    out: list[CutOff] = []
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None or cell.value == "":
                continue
            if rows and not rows[0] <= cell.row <= rows[1]:
                continue
            r, c = cell.row, cell.column
            box = merged.get((r, c))
            if box and (box[0], box[1]) != (r, c):
                continue  # covered by a merge: only the top-left cell shows
            last_col = box[3] if box else c
            width = sum(column_width(ws, k) for k in range(c, last_col + 1))
            size = float(cell.font.sz or 11.0) if cell.font is not None else 11.0
            bold = bool(cell.font is not None and cell.font.b)
            text = displayed(cell)
            align = cell.alignment
            indent = (align.indent or 0) * 1.5 if align is not None else 0
            if align is not None and align.wrap_text:
                fixed = sum((row_height(ws, k) or 0) for k in range(r, (box[2] if box else r) + 1))
                if not fixed or any(row_height(ws, k) is None for k in range(r, (box[2] if box else r) + 1)):
                    longest = max((char_units(w, size, bold) for w in text.split()), default=0)
                    if longest > width - 0.5:
                        out.append(CutOff(ws.title, cell.coordinate, text, longest, width, "breed"))
                    continue
                line = 1.3 * size
                need = wrapped_lines(text, width - indent, size, bold) * line
                if need > fixed + 2:
                    out.append(CutOff(ws.title, cell.coordinate, text, need, fixed, "hoog"))
                continue
            need = char_units(text, size, bold) + indent + 0.6
            if need <= width:
                continue
            if isinstance(cell.value, (int, float)):
                out.append(CutOff(ws.title, cell.coordinate, text, need, width, "breed"))
                continue
            horizontal = (align.horizontal if align is not None else None) or "general"
            step = -1 if horizontal == "right" else 1
            room = width
            k = (c if step < 0 else last_col) + step
            while k >= 1 and room < need and k <= ws.max_column + 20:
                neighbour = ws.cell(row=r, column=k)
                if neighbour.value not in (None, "") or (r, k) in merged:
                    break
                room += column_width(ws, k)
                k += step
            if room < need:
                out.append(CutOff(ws.title, cell.coordinate, text, need, room, "breed"))
    return out


def english_words(text: str) -> list[str]:
    """English words or dataset codes in a page's text (whole words, case-insensitive)."""
    low = text.lower()
    found = [w for w in ENGLISH_WORDS if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low)]
    found += [c for c in CODES if c in low]
    return found


def snake_codes(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", text))


def pages_by_sheet(page_texts: list[str]) -> list[str]:
    """The sheet name of each page, from the footer ``<sheet> ... Pagina n van m``."""
    names = []
    for text in page_texts:
        m = None
        for line in text.splitlines():
            hit = re.match(r"\s*(\S.*?)\s{2,}Pagina \d+ van \d+\s*$", line)
            if hit:
                m = re.split(r"\s{2,}", hit.group(1).strip())[0]  # a chart label may share the line
        names.append(m or "")
    return names


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def clipped_in_pdf(ws, sheet_text: str) -> list[str]:
    """Unwrapped text cells whose whole text is not on any line of the sheet's rendered pages.

    LibreOffice leaves the clipped characters out of the PDF ("2. Eerder signaleren en
    melde"), so a cell cut off on paper is not found as one piece on a ``pdftotext
    -layout`` line. Numbers are left to :func:`cut_off_cells` (their text depends on the
    locale of the renderer).
    """
    lines = [_squash(line) for line in sheet_text.splitlines()]
    rows = _print_rows(ws)
    merged = _merged(ws)
    out = []
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str) or not cell.value.strip():
                continue
            if rows and not rows[0] <= cell.row <= rows[1]:
                continue
            box = merged.get((cell.row, cell.column))
            if box and (box[0], box[1]) != (cell.row, cell.column):
                continue
            if cell.alignment is not None and cell.alignment.wrap_text:
                continue
            want = _squash(cell.value)
            if not any(want in line for line in lines):
                out.append(f"{ws.title}!{cell.coordinate}: {want[:70]!r}")
    return out
