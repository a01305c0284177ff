"""The partner's own workbook back, with every problem marked where it is.

A receipt that says "tabblad Casussen, kolom Einddatum, regels 7 en 19" is good; the
partner's own file with those cells coloured and annotated is better: they fix it
where they see it and drop it again. For every file that was rejected or accepted
with warnings, ``write_for_delivery`` (called by ``etl.intake.inbox.settle`` just before the
receipt is written) puts ``outbox/<map>/<receipt stem>.gemarkeerd.xlsx`` next to the
receipt:

* each problem cell filled (errors red, warnings amber) with a Dutch comment saying
  what is wrong and what to change. Where a problem names no cells, its column's cells
  in the named rows, else its column's header cell, else the header row, else the
  whole row, else the sheet's first cell;
* a first sheet ``Controle`` listing every problem with a link to its first cell;
* everything else as the partner sent it, as far as openpyxl keeps it: values,
  formulas (formulas stay formulas, and their cached results are copied back from
  the original, so nobody's numbers are recalculated or changed), styles, merged
  cells, column widths, hidden sheets (a hidden sheet with a mark is made visible,
  otherwise the link leads nowhere, and the Controle sheet says so).

No copy, on purpose, for a file refused for personal data (a copy of such a file is
never written anywhere), for a file that is not a safe, readable .xlsx (the safety
codes in ``NO_COPY_CODES``: openpyxl must never open a zip bomb), and for a workbook
too large to rewrite within the latency budget (``MONITOR_MARKUP_MAX_MB`` of sheet
XML). The copy is a courtesy: if anything goes wrong, the error type is logged (never
its text, which could quote a cell) and the receipt goes out without it.

A partner may drop the marked copy itself back after fixing it: ``etl.intake.read`` skips
our ``Controle`` sheet (``is_control_sheet``), and when such a copy is marked again
the earlier Controle sheet, fills and comments are removed first.

The write is atomic (temp file + ``os.replace``), so a rerun after a crash simply
overwrites the copy.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET

from etl.core.control_sheet import (  # noqa: F401 - re-read by tests
    CONTROL_SHEET,
    CONTROL_TITLE,
    is_control_sheet,
)
from etl.core.files import write_atomic as _write_atomic
from etl.core.naming import printable_name, receipt_stem
from etl.core.organisations import folder_of
from etl.core.problems import Problem, format_rows
from etl.core.sources import get_source
from etl.core.status import DeliveryStatus
from etl.core.xlsx_safe import set_safe
from etl.intake.read import HEADER_SCAN_ROWS, find_header, header_key
from etl.intake.receipt import STATUS_NL, local_time_nl

if TYPE_CHECKING:
    from etl.core.config import DataDirs
    from etl.core.sources import Source
    from etl.store.db import Delivery

log = logging.getLogger(__name__)

AUTHOR = "Monitor Groningen"
COMMENT_MARK = "— Monitor Groningen —"     # separates a partner's own comment from ours
ERROR_RGB = "FFFFB3B3"                      # light red: readable black text on top
WARNING_RGB = "FFFFD98C"                    # amber
LINK_RGB = "FF0563C1"
MAX_CELLS_PER_PROBLEM = 500
MAX_ROW_WIDTH = 200                         # columns filled for a "whole row" mark
COPY_SUFFIX = ".gemarkeerd.xlsx"

# Safety refusals: the file is not a safe, readable .xlsx, so nobody opens it to mark it. And
# files kept in the restricted quarantine: personal data, or an analysis that crashed before
# the personal-data screen was done with the file (``verwerkingsfout``).
NO_COPY_CODES = frozenset({"geen_xlsx", "beschadigd", "beveiligd_of_oud", "macros", "xml_onveilig", "te_groot",
                           "leeg_bestand", "snelkoppeling", "persoonsgegevens", "verwerkingsfout"})

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def max_sheet_xml_bytes() -> int:
    """Above this much sheet XML the copy is skipped: openpyxl (pure Python here, no lxml) needs
    1.3-3 s per MB to load and save, and the receipt must be out within the minute. The default,
    8 MB, is about 20,000 WIJ case rows: 25 times a real quarterly delivery (0.3 MB)."""
    return int(float(os.environ.get("MONITOR_MARKUP_MAX_MB", "8")) * 2**20)


# --------------------------------------------------------------------------- entry point

def copy_name(d: Delivery) -> str:
    """The receipt's stem + ``.gemarkeerd.xlsx``: the copy sorts next to its receipt."""
    return receipt_stem(d.levering_id, d.ontvangen_op, d.bestandsnaam) + COPY_SUFFIX


def wants_copy(d: Delivery) -> bool:
    """Rejected or accepted with warnings; never personal data, never an unreadable file."""
    if d.persoonsgegevens or d.status not in (DeliveryStatus.REJECTED, DeliveryStatus.ACCEPTED) or not d.problemen:
        return False
    return not any(p["code"] in NO_COPY_CODES for p in d.problemen)


@dataclass(frozen=True)
class MarkedCopy:
    """What became of the marked-up copy: its path, or (when one was due) why there is none."""

    path: Path | None = None
    why_not: str | None = None     # Dutch, for the receipt; never a cell value


def write_for_delivery(dirs: DataDirs, d: Delivery, workbook: Path) -> MarkedCopy:
    """Write the marked-up copy for one delivery. The caller puts the result in the receipt:
    this function does not edit it, so the order of steps in ``settle`` cannot matter."""
    if not wants_copy(d):
        return MarkedCopy()
    workbook = Path(workbook)
    if workbook.is_symlink() or not workbook.is_file() or workbook.suffix.lower() != ".xlsx":
        return MarkedCopy()
    if workbook.resolve().is_relative_to(dirs.restricted.resolve()):
        return MarkedCopy()                   # never a copy of anything in the restricted quarantine
    size = _sheet_xml_bytes(workbook)
    if size is None or size > max_sheet_xml_bytes():
        log.info("geen gemarkeerde kopie voor %s: werkmap te groot of onleesbaar voor een kopie", d.levering_id)
        return MarkedCopy(why_not="uw werkmap is te groot om binnen een minuut te kopiëren." if size is not None
                          else "de onderdelen van uw werkmap konden we niet openen om te kopiëren.")
    target = dirs.outbox / folder_of(d.bron, d.organisatie) / copy_name(d)
    problems = [Problem.from_dict(p) for p in d.problemen]
    try:
        source = get_source(d.bron)
    except KeyError:
        source = None
    intro = [f"Bestand: {printable_name(d.bestandsnaam)}",
             f"Ontvangen: {local_time_nl(d.ontvangen_op)}   Kenmerk: {d.levering_id}",
             f"Resultaat: {STATUS_NL.get(d.status, d.status)}"]
    try:
        mark_workbook(workbook, problems, target, intro=intro, source=source, accepted=d.status == DeliveryStatus.ACCEPTED)
    except Exception as exc:  # noqa: BLE001 - a courtesy copy never stops the intake
        log.warning("gemarkeerde kopie voor %s niet gemaakt (%s)", d.levering_id, type(exc).__name__)
        return MarkedCopy(why_not=why_no_copy(workbook))
    return MarkedCopy(path=target)


def why_no_copy(workbook: Path) -> str:
    """Why the copy failed, in Dutch, from what the workbook holds (never from the exception
    text, which can quote a cell): the parts openpyxl cannot carry over are the usual cause."""
    try:
        with zipfile.ZipFile(workbook) as zf:
            names = [n.replace("\\", "/").lower() for n in zf.namelist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        names = []
    held = []
    if any("pivottable" in n or "pivotcache" in n for n in names):
        held.append("draaitabellen")
    if any("richdata" in n for n in names):
        held.append("afbeeldingen in cellen")
    elif any(n.startswith("xl/media/") or "/drawings/" in n for n in names):
        held.append("afbeeldingen of tekeningen")
    if any("/charts/" in n for n in names):
        held.append("grafieken")
    if held:
        return (f"uw werkmap bevat onderdelen ({', '.join(held)}) die ons programma niet kan overnemen in een kopie.")
    return "ons programma kon de opmaak of opbouw van uw werkmap niet overnemen in een kopie."


# --------------------------------------------------------------------------- marking

@dataclass
class Mark:
    """Where one problem is shown in the copy."""

    nr: int
    problem: Problem
    sheet: str | None = None              # the workbook's real sheet name, None if not in the workbook
    cells: list[str] = field(default_factory=list)      # filled cells (A1), in order, capped
    comment_cells: list[str] = field(default_factory=list)
    total: int = 0                        # cells before the cap
    how: str = ""                         # Dutch: what was marked
    unhidden: bool = False

    @property
    def first(self) -> str | None:
        return self.comment_cells[0] if self.comment_cells else (self.cells[0] if self.cells else None)


@dataclass
class MarkResult:
    path: Path
    control_sheet: str
    marks: list[Mark]


def mark_workbook(src: Path, problems: list[Problem], dst: Path, *, intro: Iterable[str] = (),
                  source: Source | None = None, accepted: bool = False) -> MarkResult:
    """Write ``dst``: the workbook at ``src`` with the problems marked and a Controle sheet first."""
    from openpyxl import load_workbook

    cached = _cached_formula_values(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # "extension not supported" and the like: we keep what we can
        wb = load_workbook(src, read_only=False, keep_vba=False, data_only=False, rich_text=True)
    _remove_earlier_markup(wb)
    ordered = [p for p in problems if p.is_error] + [p for p in problems if not p.is_error]
    headers: dict[str, _Header] = {}
    marks = [_locate(wb, nr, p, source, headers) for nr, p in enumerate(ordered, 1)]
    _apply(wb, marks)
    ctl = _control_sheet(wb, marks, list(intro), accepted)
    if cached and all(has for cells in cached.values() for _, _, has in cells.values()):
        wb.calculation.fullCalcOnLoad = False  # every formula keeps the partner's own result: no recalculation
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if cached:
        data = _inject_cached_values(data, cached)
    _write_atomic(dst, data)
    return MarkResult(dst, ctl, marks)


def _locate(wb, nr: int, p: Problem, source: Source | None, headers: dict[str, _Header]) -> Mark:
    m = Mark(nr, p)
    m.sheet = _match_sheet(p.sheet, [ws.title for ws in wb.worksheets]) if p.sheet else None
    if m.sheet is None:
        m.how = "tabblad ontbreekt" if p.sheet else "geldt voor het hele bestand"
        return m
    ws = wb[m.sheet]
    if m.sheet not in headers:
        headers[m.sheet] = _Header.of(ws, m.sheet, source)
    header = headers[m.sheet]
    rows = sorted({r for r in p.rows if 1 <= r <= 1_048_576})
    cells: list[str] = []
    comment_all = True
    letters = header.letters_for(p.column) if p.column else []
    counted = ""
    if p.cells:
        cells = _extend_cells(_refs(p.cells, m.sheet), rows)
        counted = " "
    elif letters and rows:
        cells = [f"{letter}{r}" for r in rows for letter in letters]
        counted = f" in kolom {', '.join(letters)}"
    elif letters:
        cells = [f"{letter}{header.row}" for letter in letters]
        m.how = "de kop van de kolom" if len(cells) == 1 else "de koppen van de kolommen"
    elif p.code == "kolom_onbekend" and header.row and (unknown := header.unknown_letters()):
        cells = [f"{letter}{header.row}" for letter in unknown]
        m.how = "de kop van de kolom" if len(cells) == 1 else "de koppen van de kolommen"
    elif rows:
        width = max(header.width, 1)
        comment_all = False
        for r in rows:
            cells.extend(f"{_letter(c)}{r}" for c in range(1, _row_width(ws, r, width) + 1))
        is_header = header.row is not None and rows == [header.row]
        m.how = "de kopregel" if is_header else ("de hele regel" if len(rows) == 1 else "de hele regels")
    else:
        cells = ["A1"]
        m.how = "cel A1 van het tabblad"
    cells = _top_left(ws, cells)
    m.total = len(cells)
    if counted:
        m.how = (_n_cells(m.total) + counted).strip()
    if m.total > MAX_CELLS_PER_PROBLEM:
        cells = cells[:MAX_CELLS_PER_PROBLEM]
        m.how = f"de eerste {MAX_CELLS_PER_PROBLEM} van {m.total} cellen"
    m.cells = cells
    if comment_all:
        m.comment_cells = list(cells)
    else:                                     # whole rows: one comment per row, on its first cell
        seen: set[str] = set()
        for ref in cells:
            row = _split(ref)[1]
            if row not in seen:
                seen.add(row)
                m.comment_cells.append(ref)
    if ws.sheet_state != "visible" and cells:
        m.unhidden = True
    return m


def _apply(wb, marks: list[Mark]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    fills = {True: PatternFill("solid", fgColor=ERROR_RGB), False: PatternFill("solid", fgColor=WARNING_RGB)}
    severity: dict[tuple[str, str], bool] = {}
    notes: dict[tuple[str, str], list[str]] = {}
    for m in marks:
        if m.sheet is None:
            continue
        for ref in m.cells:
            key = (m.sheet, ref)
            severity[key] = severity.get(key, False) or m.problem.is_error
        for ref in m.comment_cells:
            notes.setdefault((m.sheet, ref), []).append(_comment_text(m))
    for (sheet, ref), is_error in severity.items():
        wb[sheet][ref].fill = fills[is_error]
    for (sheet, ref), texts in notes.items():
        cell = wb[sheet][ref]
        text = "\n\n".join(texts)
        author = AUTHOR
        if cell.comment is not None:          # keep the partner's own note, ours below it
            text = f"{cell.comment.text.rstrip()}\n\n{COMMENT_MARK}\n{text}"
            author = cell.comment.author or AUTHOR
        lines = sum(max(1, math.ceil(len(line) / 48)) for line in text.split("\n"))
        cell.comment = Comment(text, author, height=min(600, 18 + 15 * lines), width=340)
    for sheet in {m.sheet for m in marks if m.sheet is not None and m.cells}:
        ws = wb[sheet]
        if ws.sheet_state != "visible":
            ws.sheet_state = "visible"
        if ws.sheet_properties.tabColor is None:
            bad = any(m.problem.is_error for m in marks if m.sheet == sheet and m.cells)
            ws.sheet_properties.tabColor = ERROR_RGB if bad else WARNING_RGB


def _comment_text(m: Mark) -> str:
    p = m.problem
    head = "FOUT" if p.is_error else "OPMERKING"
    parts = [f"{head} (punt {m.nr} op tabblad Controle): {p.message}"]
    if p.fix:
        parts.append(f"Wat te doen: {p.fix}")
    return "\n".join(parts)


# --------------------------------------------------------------------------- the Controle sheet

_COLUMNS = [("Nr", 5), ("Ernst", 13), ("Tabblad", 16), ("Kolom", 22), ("Regels", 14),
            ("Wat is er gevonden", 55), ("Wat te doen", 55), ("Gemarkeerd", 20), ("Ga naar", 16)]
_HEADER_ROW = 7


def _control_sheet(wb, marks: list[Mark], intro: list[str], accepted: bool) -> str:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    name = CONTROL_SHEET
    k = 1
    while name in wb.sheetnames:
        k += 1
        name = f"{CONTROL_SHEET} {k}" if k > 2 else f"{CONTROL_SHEET} monitor"
    ws = wb.create_sheet(name, 0)
    errors = sum(m.problem.is_error for m in marks)
    warns = len(marks) - errors
    ws["A1"] = CONTROL_TITLE
    ws["A1"].font = Font(bold=True, size=14)
    for r, line in enumerate(intro[:3], 2):
        set_safe(ws.cell(r, 1), line)
    summary = []
    if errors:
        summary.append(f"{errors} {'fout' if errors == 1 else 'fouten'} (moet worden aangepast)")
    if warns:
        summary.append(f"{warns} {'opmerking' if warns == 1 else 'opmerkingen'} (graag nakijken)")
    line = "In dit bestand: " + " en ".join(summary) + "."
    if accepted:
        line += " Het bestand is aangenomen; de opmerkingen zijn ter controle."
    ws.cell(2 + min(len(intro), 3), 1, line).font = Font(bold=True, color="FFC00000" if errors else "FF7F6000")
    ws.cell(6, 2, "Fout").fill = PatternFill("solid", fgColor=ERROR_RGB)
    ws.cell(6, 3, "Opmerking").fill = PatternFill("solid", fgColor=WARNING_RGB)
    for c in (2, 3):
        ws.cell(6, c).alignment = Alignment(horizontal="center", vertical="center")
    explain = ws.cell(6, 4, "Zo zijn de cellen in uw eigen tabbladen gekleurd, met een toelichting als opmerking bij de cel. "
                            "Klik in de laatste kolom om er direct heen te gaan. Pas de cellen aan en lever het bestand "
                            "opnieuw aan (dit tabblad mag blijven staan; het wordt overgeslagen).")
    explain.alignment = Alignment(wrap_text=True, vertical="center")
    ws.merge_cells(start_row=6, start_column=4, end_row=6, end_column=len(_COLUMNS))
    ws.row_dimensions[6].height = 32
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for c, (title, width) in enumerate(_COLUMNS, 1):
        cell = ws.cell(_HEADER_ROW, c, title)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="FFD9D9D9")
        ws.column_dimensions[_letter(c)].width = width
    fills = {True: PatternFill("solid", fgColor=ERROR_RGB), False: PatternFill("solid", fgColor=WARNING_RGB)}
    link_font = Font(color=LINK_RGB, underline="single")
    for i, m in enumerate(marks):
        r = _HEADER_ROW + 1 + i
        p = m.problem
        found = p.message
        if p.examples:
            found += " Voorbeelden van wat er staat: " + ", ".join(f"'{e}'" for e in p.examples) + "."
        how = m.how
        if m.unhidden:
            how += "; het tabblad was verborgen en is in deze kopie zichtbaar gemaakt"
        values = [m.nr, "Fout" if p.is_error else "Opmerking", p.sheet or "", p.column or "",
                  format_rows(p.rows), found, p.fix, how]
        for c, v in enumerate(values, 1):
            cell = ws.cell(r, c)
            set_safe(cell, v)                 # partner text (sheet and column names) never becomes a formula
            cell.alignment = wrap if c in (4, 5, 6, 7, 8) else top
        ws.cell(r, 2).fill = fills[p.is_error]
        link = ws.cell(r, len(_COLUMNS))
        if m.sheet is not None and m.first is not None:
            set_safe(link, f"{m.sheet}!{m.first}")
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{_quote(m.sheet)}!{m.first}")
            link.font = link_font
        else:
            link.value = "—"
        link.alignment = top
        longest = max(math.ceil(len(str(v)) / (w * 1.05)) for v, (_, w) in zip(values, _COLUMNS, strict=False) if v)
        ws.row_dimensions[r].height = max(15, 15 * longest)
    if not marks:
        ws.cell(_HEADER_ROW + 1, 1, "Geen punten.")
    ws.freeze_panes = ws.cell(_HEADER_ROW + 1, 1).coordinate
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"
    ws.sheet_properties.tabColor = ERROR_RGB if errors else WARNING_RGB
    wb.active = 0
    for other in wb.worksheets:
        other.sheet_view.tabSelected = other is ws
    for view in wb.views:
        view.firstSheet = 0
        view.activeTab = 0
    return name


# --------------------------------------------------------------------------- earlier markup (a re-drop of our copy)

def _remove_earlier_markup(wb) -> None:
    """A partner dropped our copy back: drop the old Controle sheet and our old fills and comments."""
    from openpyxl.styles import PatternFill

    ours = [ws for ws in wb.worksheets if is_control_sheet(getattr(ws._cells.get((1, 1)), "value", None))]
    if not ours:
        return
    for ws in ours:
        wb.remove(ws)
    colours = {ERROR_RGB, WARNING_RGB, ERROR_RGB[2:], WARNING_RGB[2:]}
    for ws in wb.worksheets:
        tab = ws.sheet_properties.tabColor
        if tab is not None and getattr(tab, "rgb", None) in colours:
            ws.sheet_properties.tabColor = None
        for cell in list(ws._cells.values()):
            c = cell.comment
            if c is not None and (c.author == AUTHOR or COMMENT_MARK in (c.text or "")):
                before = (c.text or "").split(COMMENT_MARK)[0].rstrip() if COMMENT_MARK in (c.text or "") else ""
                cell.comment = None
                if before:
                    from openpyxl.comments import Comment

                    cell.comment = Comment(before, c.author)
            if cell.has_style and cell.fill.fill_type == "solid" and getattr(cell.fill.fgColor, "rgb", None) in colours:
                cell.fill = PatternFill(fill_type=None)


# --------------------------------------------------------------------------- finding places

class _Header:
    """The header row of a sheet and its columns (via the source description where known)."""

    def __init__(self, row: int | None, by_key: dict[str, list[str]], width: int, unknown: list[str]):
        self.row = row
        self._by_key = by_key
        self.width = width
        self._unknown = unknown

    @classmethod
    def of(cls, ws, sheet: str, source: Source | None) -> _Header:

        cells = ws._cells                     # read without creating cells (iter_rows would fill the rectangle)
        width = min(ws.max_column, MAX_ROW_WIDTH)
        grid = [[getattr(cells.get((r, c)), "value", None) for c in range(1, width + 1)]
                for r in range(1, min(ws.max_row, HEADER_SCAN_ROWS) + 1)]
        spec = None
        if source is not None:
            for s in source.sheets:
                if header_key(sheet) in {header_key(n) for n in s.folded_names}:
                    spec = s
        by_key: dict[str, list[str]] = {}
        unknown: list[str] = []
        if spec is not None:
            idx, mapping, duplicates = find_header(grid, spec)
        else:
            idx, mapping, duplicates = None, {}, []
        if idx is None:
            return cls(None, by_key, 0, unknown)
        row = grid[idx]
        for c, col in mapping.items():
            letter = _letter(c + 1)
            for k in {header_key(col.name), header_key(row[c])}:
                by_key.setdefault(k, []).append(letter)
        for c, v in enumerate(row):
            if c not in mapping and isinstance(v, str) and v.strip():
                by_key.setdefault(header_key(v), []).append(_letter(c + 1))
                if c not in duplicates:
                    unknown.append(_letter(c + 1))
        width = max((c + 1 for c, v in enumerate(row) if v not in (None, "")), default=0)
        return cls(idx + 1, by_key, width, unknown)

    def letters_for(self, column: str) -> list[str]:
        if self.row is None:
            return []
        whole = self._by_key.get(header_key(column))
        if whole:
            return list(dict.fromkeys(whole))
        out: list[str] = []
        for part in column.split(","):
            got = self._by_key.get(header_key(part.strip()))
            if not got:
                return []                     # a column that is not in the sheet: mark the header row instead
            out.extend(got)
        return list(dict.fromkeys(out))

    def unknown_letters(self) -> list[str]:
        return list(self._unknown)


def _match_sheet(name: str, names: list[str]) -> str | None:
    """The workbook's real sheet name for a name in a problem (exact, then case/space/punctuation folded)."""
    if name in names:
        return name
    for n in names:
        if n.strip().casefold() == name.strip().casefold():
            return n
    for n in names:
        if header_key(n) == header_key(name):
            return n
    return None


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def _split(ref: str) -> tuple[str, str]:
    m = _REF.match(ref)
    assert m is not None, ref
    return m.group(1).upper(), m.group(2)


def _refs(cells: Iterable[str], sheet: str) -> list[str]:
    """Valid A1 references from a problem (``D7``, ``$D$7``, ``Sheet!D7`` for this sheet, ``D7:E8``)."""
    from openpyxl.utils.cell import range_boundaries

    out: list[str] = []
    for raw in cells:
        ref = str(raw)
        if "!" in ref:
            where, _, ref = ref.rpartition("!")
            if where.strip("'") != sheet:
                continue
        m = _REF.match(ref)
        if m:
            if 1 <= int(m.group(2)) <= 1_048_576:
                out.append(f"{m.group(1).upper()}{int(m.group(2))}")
            continue
        try:
            c1, r1, c2, r2 = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if None in (c1, r1, c2, r2):
            continue
        out.extend(f"{_letter(c)}{r}" for r in range(r1, min(r2, r1 + MAX_CELLS_PER_PROBLEM) + 1)
                   for c in range(c1, min(c2, c1 + MAX_ROW_WIDTH) + 1))
    return list(dict.fromkeys(out))


def _extend_cells(cells: list[str], rows: list[int]) -> list[str]:
    """Problems list cells for their first 200 rows only: the same columns in the other rows too.

    Only when the cells are exactly (rows covered) x (columns), so nothing is guessed.
    """
    if not cells or not rows:
        return cells
    letters = list(dict.fromkeys(_split(c)[0] for c in cells))
    covered = sorted({int(_split(c)[1]) for c in cells})
    missing = [r for r in rows if r not in set(covered)]
    if not missing or len(cells) != len(covered) * len(letters):
        return cells
    if {f"{letter}{r}" for r in covered for letter in letters} != set(cells):
        return cells
    return cells + [f"{letter}{r}" for r in missing for letter in letters]


def _top_left(ws, cells: list[str]) -> list[str]:
    """A cell inside a merged range is shown by the range's top-left cell: mark that one."""
    ranges = [r.bounds for r in ws.merged_cells.ranges]   # (min_col, min_row, max_col, max_row)
    if not ranges:
        return list(dict.fromkeys(cells))
    from openpyxl.utils.cell import column_index_from_string

    out: list[str] = []
    for ref in cells:
        letter, row = _split(ref)
        c, r = column_index_from_string(letter), int(row)
        for c1, r1, c2, r2 in ranges:
            if c1 <= c <= c2 and r1 <= r <= r2:
                ref = f"{_letter(c1)}{r1}"
                break
        out.append(ref)
    return list(dict.fromkeys(out))


def _row_width(ws, row: int, at_least: int) -> int:
    """Columns to fill for a whole-row mark: the header's width or the row's last value."""
    last = 0
    cells = ws._cells
    for c in range(1, min(ws.max_column, MAX_ROW_WIDTH) + 1):
        cell = cells.get((row, c))
        if cell is not None and cell.value not in (None, ""):
            last = c
    return min(max(last, at_least), MAX_ROW_WIDTH)


def _n_cells(n: int) -> str:
    return "1 cel" if n == 1 else f"{n} cellen"


def _letter(c: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(c)


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


# --------------------------------------------------------------------------- formulas keep their results

def _sheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip member, from the workbook and its relationships."""
    wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") or "" for r in rels.iter(f"{_NS_PKG_REL}Relationship")}
    out: dict[str, str] = {}
    for s in wb.iter(f"{_NS}sheet"):
        target = targets.get(s.get(f"{_NS_REL}id"), "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        out[s.get("name")] = re.sub(r"[^/]+/\.\./", "", member)
    return out


def _sheet_xml_bytes(path: Path) -> int | None:
    try:
        with zipfile.ZipFile(path) as zf:
            return sum(i.file_size for i in zf.infolist() if i.filename.startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _cached_formula_values(path: Path) -> dict[str, dict[str, tuple[str | None, str, bool]]]:
    """Per sheet, per formula cell: (type, cached result text, has a result), as the partner's program saved them.

    openpyxl keeps a formula but drops its result; without the result every viewer
    that does not calculate (previews, mail clients, our own reader on a re-drop)
    shows an empty cell, and Excel would recalculate. So the results are copied back.
    """
    out: dict[str, dict[str, tuple[str | None, str, bool]]] = {}
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for sheet, member in _sheet_members(zf).items():
            if member not in names:
                continue
            data = zf.read(member)
            if b"<f" not in data and b":f" not in data:
                continue
            cells: dict[str, tuple[str | None, str, bool]] = {}
            for _event, el in SafeET.iterparse(io.BytesIO(data), events=("end",)):
                if el.tag == f"{_NS}c":
                    f = el.find(f"{_NS}f")
                    if f is not None:
                        v = el.find(f"{_NS}v")
                        t = el.get("t")
                        has = v is not None and v.text is not None and t != "s"
                        cells[el.get("r", "")] = (t, v.text if has else "", has)
                    el.clear()
                elif el.tag == f"{_NS}row":
                    el.clear()
            if cells:
                out[sheet] = cells
    return out


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"([^>]*)>(<f(?:\s[^>]*)?(?:/>|>[^<]*</f>))<v\s*/>(</c>)')


def _inject_cached_values(data: bytes, cached: dict[str, dict[str, tuple[str | None, str, bool]]]) -> bytes:
    """Put the original formula results into the copy openpyxl wrote (``<v/>`` -> ``<v>result</v>``)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = _sheet_members(src)
    edits: dict[str, bytes] = {}
    for sheet, cells in cached.items():
        member = members.get(sheet)
        if member is None:
            continue

        def put(m: re.Match, cells=cells) -> bytes:
            got = cells.get(m.group(1).decode())
            if got is None or not got[2]:
                return m.group(0)
            t, value, _ = got
            attrs = m.group(2)
            if t in ("str", "b", "e") and b" t=" not in attrs:
                attrs += f' t="{t}"'.encode()
            return b'<c r="' + m.group(1) + b'"' + attrs + b">" + m.group(3) + b"<v>" + escape(value).encode() + b"</v>" + m.group(4)

        edits[member] = _FORMULA_CELL.sub(put, src.read(member))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, edits.get(info.filename, src.read(info.filename)), zipfile.ZIP_DEFLATED)
    return out.getvalue()


