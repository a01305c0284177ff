"""The workbook's look, in one place: named styles, number formats, widths, print setup.

Every cell gets one of the named styles registered by :func:`register` (one style
object per workbook, not per cell: assigning a name is cheap, creating Font/Fill
objects per cell is what makes openpyxl slow). Sheets write through
:class:`SheetWriter`, which also measures what it writes so column widths fit.

Number formats are Excel's built-in codes with ``,`` for thousands and ``.`` for
decimals; Excel and LibreOffice show them with the reader's locale (``1.234`` and
``12,5`` in Dutch). Counts are ``#,##0``; measures that are not counts (rates,
days, limits) have one decimal, shares are percentages. The tests rely on this:
a cell with a count format never shows 1..4.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from copy import copy

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from etl.core.xlsx_safe import set_safe
from etl.report.disclosure import PRIMARY_TEXT, SECONDARY_TEXT

FONT = "Calibri"
DARK = "1F3864"      # dark blue: titles, header fill
MID = "D9E1F2"       # light blue: section and subtotal rows
LIGHT = "F2F2F2"     # light grey: total rows
GREY = "595959"
GREEN = "C6EFCE"
GREEN_TXT = "006100"
ORANGE = "FFEB9C"
ORANGE_TXT = "9C5700"
RED = "FFC7CE"
RED_TXT = "9C0006"

FMT_COUNT = "#,##0"
FMT_DEC1 = "#,##0.0"
FMT_PCT = "0.0%"
FMT_META = "0"

MISSING_TEXT = "ontbreekt"
NOT_APPLICABLE = "–"

#: Number format per kind of value (see include/indicators.yaml `soort`).
KIND_FORMAT = {"aantal": "count", "per_1000": "dec1", "aandeel": "pct", "dagen": "dec1", "getal": "dec1"}

_FORMATS = {"count": FMT_COUNT, "dec1": FMT_DEC1, "pct": FMT_PCT, "meta": FMT_META}
_ROWS = ("", "sub", "tot")  # normal, subtotal, total rows
_WRAP = ("tekst_wrap", "notitie_wrap", "vet_wrap", "oordeel_verbetering", "oordeel_aandachtspunt",
         "oordeel_signaal", "oordeel_geen")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_THIN = Side(style="thin", color="A6A6A6")
_MEDIUM = Side(style="medium", color=DARK)

LEGEND = (f"{PRIMARY_TEXT} = aantal van 1 tot en met 4 (afgeschermd)  ·  {SECONDARY_TEXT} = afgeschermd zodat een "
          f"totaal of verschil geen {PRIMARY_TEXT} verraadt  ·  {MISSING_TEXT} = niet aangeleverd (geen 0)")


def _named(name: str, *, font: Font, fill: PatternFill | None = None, fmt: str = "General",
           align: Alignment | None = None, border: Border | None = None) -> NamedStyle:
    st = NamedStyle(name=name)
    st.font = font
    if fill is not None:
        st.fill = fill
    st.number_format = fmt
    st.alignment = align or Alignment(vertical="top")
    if border is not None:
        st.border = border
    return st


def _fill(color: str) -> PatternFill:
    return PatternFill("solid", start_color=color, end_color=color)


def register(wb: Workbook) -> None:
    """Register the named styles once per workbook (deterministic order)."""
    base = Font(name=FONT, size=10)
    bold = Font(name=FONT, size=10, bold=True)
    styles = [
        _named("titel", font=Font(name=FONT, size=16, bold=True, color=DARK), align=Alignment(vertical="center")),
        _named("subtitel", font=Font(name=FONT, size=10, italic=True, color=GREY), align=Alignment(vertical="top")),
        _named("sectie", font=Font(name=FONT, size=12, bold=True, color=DARK), align=Alignment(vertical="bottom"),
               border=Border(bottom=_MEDIUM)),
        _named("kop", font=Font(name=FONT, size=10, bold=True, color="FFFFFF"), fill=_fill(DARK),
               align=Alignment(wrap_text=True, vertical="center", horizontal="center")),
        _named("kop_links", font=Font(name=FONT, size=10, bold=True, color="FFFFFF"), fill=_fill(DARK),
               align=Alignment(wrap_text=True, vertical="center", horizontal="left")),
        _named("actielijn", font=Font(name=FONT, size=11, bold=True, color=DARK), fill=_fill(MID)),
        _named("tekst", font=base),
        _named("tekst_wrap", font=base, align=Alignment(wrap_text=True, vertical="top")),
        _named("vet", font=bold),
        _named("vet_wrap", font=bold, align=Alignment(wrap_text=True, vertical="top")),
        _named("notitie", font=Font(name=FONT, size=9, italic=True, color=GREY),
               align=Alignment(wrap_text=False, vertical="top")),
        _named("notitie_wrap", font=Font(name=FONT, size=9, italic=True, color=GREY),
               align=Alignment(wrap_text=True, vertical="top")),
        _named("metagetal", font=base, fmt=FMT_META, align=Alignment(horizontal="right", vertical="top")),
        _named("oordeel_verbetering", font=Font(name=FONT, size=10, bold=True, color=GREEN_TXT), fill=_fill(GREEN),
               align=_WRAP_TOP),
        _named("oordeel_aandachtspunt", font=Font(name=FONT, size=10, bold=True, color=RED_TXT), fill=_fill(RED),
               align=_WRAP_TOP),
        _named("oordeel_signaal", font=Font(name=FONT, size=10, bold=True, color=ORANGE_TXT), fill=_fill(ORANGE),
               align=_WRAP_TOP),
        _named("oordeel_geen", font=Font(name=FONT, size=10, color=GREY), align=_WRAP_TOP),
        _named("vergelijk_hoger", font=Font(name=FONT, size=10, bold=True, color=DARK),
               align=Alignment(horizontal="center", vertical="top")),
        _named("vergelijk_lager", font=Font(name=FONT, size=10, bold=True, color=DARK),
               align=Alignment(horizontal="center", vertical="top")),
        _named("vergelijk_gelijk", font=Font(name=FONT, size=10, color=GREY),
               align=Alignment(horizontal="center", vertical="top")),
    ]
    for row in _ROWS:
        fill = _fill(MID) if row == "sub" else _fill(LIGHT) if row == "tot" else None
        border = Border(top=_THIN) if row == "sub" else Border(top=_MEDIUM) if row == "tot" else None
        font = bold if row else base
        suffix = f"_{row}" if row else ""
        styles.append(_named(f"label{suffix}", font=font, fill=fill, border=border))
        for kind, fmt in _FORMATS.items():
            if kind == "meta":
                continue
            styles.append(_named(f"{kind}{suffix}", font=font, fill=fill, border=border, fmt=fmt,
                                 align=Alignment(horizontal="right", vertical="top", indent=1)))
        # Hidden or missing values in a number column: text, right-aligned like the numbers.
        styles.append(_named(f"afgeschermd{suffix}", font=Font(name=FONT, size=10, bold=bool(row), color=GREY),
                             fill=fill, border=border, align=Alignment(horizontal="right", vertical="top", indent=1)))
    for st in styles:
        wb.add_named_style(st)


def number_style(kind: str, row: str = "") -> str:
    """Named style for a number of ``kind`` (count/dec1/pct) in a normal/sub/tot row."""
    return f"{kind}_{row}" if row else kind


def text_style(row: str = "") -> str:
    return f"label_{row}" if row else "label"


def hidden_style(row: str = "") -> str:
    return f"afgeschermd_{row}" if row else "afgeschermd"


def _display_len(value: object, style: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 4
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return 4
        if style.startswith("pct"):
            return len(f"{value * 100:.1f}%")
        if style.startswith("dec1"):
            return len(f"{value:,.1f}")
        return len(f"{value:,.0f}")
    text = str(value)
    return max((len(line) for line in text.split("\n")), default=0)


class SheetWriter:
    """Writes cells with named styles and remembers how wide each column needs to be."""

    def __init__(self, ws: Worksheet):
        self.ws = ws
        self.widths: dict[int, float] = {}
        self.fixed: dict[int, float] = {}
        self.header_rows: list[tuple[int, int, list[str]]] = []
        self.wrapped: list[tuple[int, int, str, str]] = []
        self._arrays: dict[str, object] = {}       # named style -> its StyleArray (see _style)

    def put(self, row: int, col: int, value: object, style: str = "tekst", measure: bool = True) -> None:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = self.ws.cell(row=row, column=col)
        set_safe(cell, value)
        self._style(cell, style)
        if measure and style in _WRAP:
            self.wrapped.append((row, col, str(value or ""), style))
        elif measure and style not in ("titel", "subtitel", "sectie", "notitie"):
            n = _display_len(value, style) * (1.1 if style.startswith(("vet", "kop", "label_")) else 1.0)
            if style[:3] in ("cou", "dec", "pct", "afg"):
                n += 2  # the right indent of number columns
            if n > self.widths.get(col, 0):
                self.widths[col] = n

    def _style(self, cell, style: str) -> None:
        """``cell.style = style``, once per name: openpyxl looks the name up in a list of all
        named styles for every cell (0.5 s of the national workbook's 115k cells) and then
        stores a copy of the style's array; the copy of that array is what every later cell gets."""
        array = self._arrays.get(style)
        if array is None:
            cell.style = style
            self._arrays[style] = copy(cell._style)
        else:
            cell._style = copy(array)

    def row(self, row: int, values: Sequence[tuple[object, str]], first_col: int = 1) -> None:
        for offset, (value, style) in enumerate(values):
            self.put(row, first_col + offset, value, style)

    def header(self, row: int, labels: Sequence[str], first_col: int = 1, left_first: bool = True,
               height_lines: int | None = None) -> None:
        """A header row: wraps, so a long label makes the row taller, not the column wider."""
        for offset, label in enumerate(labels):
            col = first_col + offset
            self.put(row, col, label, "kop_links" if (left_first and offset == 0) else "kop", measure=False)
            word = max((len(w) for w in label.split()), default=0)
            if word + 2 > self.widths.get(col, 0):
                self.widths[col] = word + 2
        self.header_rows.append((row, first_col, list(labels)))
        if height_lines:
            self.ws.row_dimensions[row].height = 13.5 * height_lines + 4

    def title(self, title: str, subtitle: str | None = None, legend: bool = True) -> int:
        """Title (row 1), subtitle (row 2), legend (row 3); returns the next free row."""
        self.put(1, 1, title, "titel", measure=False)
        self.ws.row_dimensions[1].height = 24
        r = 2
        if subtitle:
            self.put(r, 1, subtitle, "subtitel", measure=False)
            r += 1
        if legend:
            self.put(r, 1, LEGEND, "subtitel", measure=False)
            r += 1
        return r + 1

    def fix_width(self, col: int, width: float) -> None:
        self.fixed[col] = width

    def finish(self, *, freeze: str | None, title_rows: str | None, min_width: float = 8,
               max_width: float = 60, landscape: bool = True) -> None:
        """Column widths, header heights, frozen panes, print setup, no gridlines."""
        ws = self.ws
        for col, w in sorted(self.widths.items()):
            width = self.fixed.get(col, min(max(w + 2, min_width), max_width))
            ws.column_dimensions[_letter(col)].width = round(width, 1)
        for col, w in sorted(self.fixed.items()):
            ws.column_dimensions[_letter(col)].width = w
        for row, first_col, labels in self.header_rows:
            if ws.row_dimensions[row].height:
                continue
            lines = 1
            for offset, label in enumerate(labels):
                width = ws.column_dimensions[_letter(first_col + offset)].width or min_width
                lines = max(lines, _wrapped_lines(label, width))
            ws.row_dimensions[row].height = 13.5 * lines + 4
        heights: dict[int, float] = {}
        for row, col, text, style in self.wrapped:
            width = ws.column_dimensions[_letter(col)].width or min_width
            per_line = 11.5 if style == "notitie_wrap" else 12.75
            lines = sum(_wrapped_lines(part, width * (1.25 if style == "notitie_wrap" else 1.0))
                        for part in text.split("\n"))
            heights[row] = max(heights.get(row, ws.row_dimensions[row].height or 15), per_line * lines + 2)
        for row, h in heights.items():
            ws.row_dimensions[row].height = h
        print_setup(ws, freeze=freeze, title_rows=title_rows, landscape=landscape)


def _wrapped_lines(text: str, width: float) -> int:
    # A column width counts "0" characters; average text is narrower (about 15% in Calibri).
    per_line = max(int(width * 1.15) - 1, 1)
    lines, current = 1, 0
    for word in text.split():
        need = len(word) if current == 0 else current + 1 + len(word)
        if need > per_line and current:
            lines += 1
            current = len(word)
        else:
            current = need
    return lines


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def print_setup(ws: Worksheet, *, freeze: str | None, title_rows: str | None, landscape: bool = True) -> None:
    """Landscape A4, fit to one page wide, repeated title rows, no gridlines, not protected."""
    ws.sheet_view.showGridLines = False
    ws.sheet_view.zoomScale = 100
    if freeze:
        ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = False
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Pagina &P van &N"
    ws.oddFooter.left.size = ws.oddFooter.right.size = 8
    ws.protection.sheet = False


def page_break_before(ws: Worksheet, row: int) -> None:
    """Start a new printed page at ``row`` (keeps a table or chart block together)."""
    from openpyxl.worksheet.pagebreak import Break

    ws.row_breaks.append(Break(id=row - 1))


def widths_from(values: Iterable[str]) -> float:
    return max((len(v) for v in values), default=8) + 2
