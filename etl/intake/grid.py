"""One sheet's cells as dictionary-encoded columns, read once with fastexcel into Arrow.

Why this shape: the personal-data screen and the reader both work column by column,
and a column repeats few values (quarters, areas, ja/nee, dates). Each column is held
as ``codes`` (one int32 per row, -1 = empty) into ``distinct`` (its distinct values as
Python objects), so "look at every value" is "look at each distinct value once, then
select rows with numpy". No Python object is made per cell.

How a sheet is read (``load_sheets``):

- the first ``HEADER_SCAN_ROWS`` rows come from a small streaming parse of the sheet
  XML (``read_head``: stops after those rows, resolves only the shared strings they
  use), so the header can be found before the body is read;
- the body (from the row under the header, or under the scanned zone) is read once by
  fastexcel with ``dtype_coercion="strict"`` over all rows: every column comes back
  with one exact Arrow type (strings, float64, timestamps, bools), never a value
  converted to text;
- a sheet whose body mixes types in one column (``<5`` between numbers, notes under a
  table, "1.234" as text beside 1.234 as a number) cannot be typed exactly by Arrow:
  it is read cell by cell with python-calamine, as before. Partner aggregate sheets
  are small, so this costs nothing measurable; large case sheets are typed.

``etl.intake.safety`` has checked the file (sizes, zip limits, entities, macros) before
any of this runs; the few XML parts we parse ourselves go through ``defusedxml``.
Error cells (``#DEL/0!``) read as empty, as they did with calamine alone; formulas
without a cached value are recorded by ``etl.intake.safety``. Cells above the body in
the scanned zone hold numbers for date cells (no style lookup): only header names and
the screen look at them.
"""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from etl.core.perf import gc_paused

HEADER_SCAN_ROWS = 50
_EMPTY = -1
# fastexcel logs a warning for every all-empty column it types as string ("Could not
# determine dtype ..."): an empty column is normal in a partner sheet, not worth a log line.
logging.getLogger("fastexcel.types.dtype").setLevel(logging.ERROR)


@dataclass
class SheetGrid:
    """Cells of one sheet; row 0 = Excel row 1, column 0 = column A."""

    height: int
    width: int
    codes: list[np.ndarray]          # per column: int32 per row, -1 = empty (None or "")
    distinct: list[list[object]]     # per column: the values the codes point at (never None or "")
    typed_from: int = 0              # first row read by fastexcel (rows above: the scanned zone); -1 = calamine
    reader: str = "fastexcel"

    # --- row access (small parts of a sheet: title/header zone, totals and note rows) ---

    def column_codes(self, c: int) -> np.ndarray:
        return self.codes[c] if c < self.width else np.full(self.height, _EMPTY, dtype=np.int32)

    def cell(self, r: int, c: int) -> object:
        if c >= self.width or r >= self.height:
            return None
        k = self.codes[c][r]
        return None if k < 0 else self.distinct[c][k]

    def row(self, r: int) -> list[object]:
        return [None if (k := self.codes[c][r]) < 0 else self.distinct[c][k] for c in range(self.width)]

    def __len__(self) -> int:
        return self.height

    def __getitem__(self, key: int | slice):
        if isinstance(key, slice):
            return [self.row(r) for r in range(*key.indices(self.height))]
        if key < 0:
            key += self.height
        if not 0 <= key < self.height:
            raise IndexError(key)
        return self.row(key)

    def __iter__(self) -> Iterator[list[object]]:
        return (self.row(r) for r in range(self.height))

    def to_lists(self) -> list[list[object]]:
        """Every row as a list (None for empty): for callers that want plain grids (tests, markup)."""
        return [self.row(r) for r in range(self.height)]

    def has_content(self, is_empty: Callable[[object], bool]) -> bool:
        """Any cell that is not empty by ``is_empty`` (which also knows '-', 'n.v.t.' ...)."""
        return any(not is_empty(v) for values in self.distinct for v in values)


def present_codes(codes: np.ndarray, n_distinct: int) -> np.ndarray:
    """The sorted distinct codes >= 0 in ``codes`` (``np.unique`` of them): by counting, O(n),
    since the codes index a known dictionary; no sort or hash of 200k ids."""
    codes = codes[codes >= 0]
    if not len(codes):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.bincount(codes, minlength=max(n_distinct, int(codes.max()) + 1)))


def as_grid(grid: SheetGrid | Sequence[Sequence[object]]) -> SheetGrid:
    """A SheetGrid as is; a list of rows (hand-built grids, tests) encoded once."""
    if isinstance(grid, SheetGrid):
        return grid
    rows = [list(r) for r in grid]
    width = max((len(r) for r in rows), default=0)
    codes, distinct = [], []
    for c in range(width):
        k, d = _encode_values([r[c] if c < len(r) else None for r in rows])
        codes.append(k)
        distinct.append(d)
    return SheetGrid(height=len(rows), width=width, codes=codes, distinct=distinct, typed_from=-1, reader="list")


def _encode_values(values: Sequence[object]) -> tuple[np.ndarray, list[object]]:
    """Dictionary-encode Python values. The type is part of the key because 1 == 1.0 == True."""
    codes = np.empty(len(values), dtype=np.int32)
    index: dict[object, int] = {}
    distinct: list[object] = []
    for i, v in enumerate(values):
        if v is None or (type(v) is str and v == ""):
            codes[i] = _EMPTY
            continue
        key = v if type(v) is str else (type(v), v)
        j = index.get(key)
        if j is None:
            j = index[key] = len(distinct)
            distinct.append(v)
        codes[i] = j
    return codes, distinct


def _encode_arrow(arr) -> tuple[np.ndarray, list[object]]:
    """Dictionary-encode one Arrow column (empty strings count as empty, like calamine's '')."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(arr.type):
        return np.full(len(arr), _EMPTY, dtype=np.int32), []
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    enc = arr.dictionary_encode()
    codes = pc.fill_null(enc.indices, _EMPTY).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, enc.dictionary.to_pylist()


# --- the scanned zone: a streaming parse of the first rows ------------------------------

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


def workbook_parts(zf: zipfile.ZipFile) -> tuple[dict[str, str], str | None]:
    """Worksheet name -> zip member (chart sheets left out), and the shared-strings member."""
    from defusedxml import ElementTree as ET

    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets: dict[str, tuple[str, str]] = {}
    for rel in rels:
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id", "")] = (rel.get("Type", ""), member)
    sst = next((m for t, m in targets.values() if t.endswith("/sharedStrings")), None)
    sheets: dict[str, str] = {}
    for el in ET.fromstring(zf.read("xl/workbook.xml")).iter():
        if _local(el.tag) == "sheet":
            typ, member = targets.get(el.get(f"{{{_REL_NS}}}id", ""), ("", ""))
            if typ.endswith("/worksheet"):
                sheets[el.get("name", "")] = member
    return sheets, sst


def read_head(zf: zipfile.ZipFile, member: str, sst_member: str | None, n_rows: int) -> list[list[object]]:
    """The first ``n_rows`` rows of a sheet (Excel rows 1..n), decompressing only as far as needed."""
    from defusedxml import ElementTree as ET

    cells: list[tuple[int, int, str, str | None]] = []     # row, col, type, text
    row_no = 0
    with zf.open(member) as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            if _local(el.tag) != "row":
                continue
            row_no = int(el.get("r") or row_no + 1)
            if row_no > n_rows:
                break
            col = -1
            for c in el:
                if _local(c.tag) != "c":
                    continue
                ref = c.get("r")
                col = _col_index(ref) if ref else col + 1
                t = c.get("t", "n")
                if t == "inlineStr":
                    text = "".join(x.text or "" for x in c.iter() if _local(x.tag) == "t")
                else:
                    v = next((x for x in c if _local(x.tag) == "v"), None)
                    text = v.text if v is not None else None
                cells.append((row_no - 1, col, t, text))
            el.clear()
    needed = {int(text) for _, _, t, text in cells if t == "s" and text and text.isdigit()}
    strings = _shared_strings(zf, sst_member, needed) if needed and sst_member else {}
    height = max((r for r, *_ in cells), default=-1) + 1
    width = max((c for _, c, *_ in cells), default=-1) + 1
    rows: list[list[object]] = [[None] * width for _ in range(height)]
    for r, c, t, text in cells:
        rows[r][c] = _head_value(t, text, strings)
    return rows


def _head_value(t: str, text: str | None, strings: dict[int, str]) -> object:
    if text is None:
        return None
    if t == "s":
        return strings.get(int(text)) if text.isdigit() else None
    if t in ("str", "inlineStr", "d"):
        return text or None
    if t == "b":
        return text.strip() == "1"
    if t == "e":
        return None                     # error cells read as empty, as calamine reads them
    try:
        return float(text)
    except ValueError:
        return None


_SI_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si(?=[\s>/])")
_SI_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?si\s*>")
_PREFIX = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")


def _si_starts(data: bytes) -> list[int]:
    """Offsets of every ``<si`` item: numpy over the bytes (one regex match per item costs ~1 s
    for 200k strings); prefixed tags (``<x:si>``, rare) by regex."""
    b = np.frombuffer(data, dtype=np.uint8)
    if len(b) < 4:
        return []
    nxt = b[3:]
    hit = (b[:-3] == 60) & (b[1:-2] == 115) & (b[2:-1] == 105) & ((nxt == 62) | (nxt == 32) | (nxt == 47) | (nxt == 9) | (nxt == 10) | (nxt == 13))
    starts = np.flatnonzero(hit)
    if len(starts):
        return starts.tolist()
    return [m.start() for m in _SI_START.finditer(data)]


def _shared_strings(zf: zipfile.ZipFile, member: str, needed: set[int]) -> dict[int, str]:
    """Only the shared strings the scanned rows use.

    A workbook lists its strings in first-use order, so a second sheet's header may sit
    after 200,000 unique ids: the ``<si>`` items are located with a byte scan and only
    the needed ones are parsed (defusedxml, prefixes dropped so a fragment stands alone).
    """
    from defusedxml import ElementTree as ET

    data = zf.read(member)
    starts = _si_starts(data)
    out: dict[int, str] = {}
    for i in needed:
        if i >= len(starts):
            continue
        end = _SI_END.search(data, starts[i])
        frag = data[starts[i]:end.end()] if end and (i + 1 >= len(starts) or end.start() < starts[i + 1]) else b"<si/>"
        el = ET.fromstring(_PREFIX.sub(rb"<\1", frag))
        parts = []
        for child in el:
            name = _local(child.tag)
            if name == "t":
                parts.append(child.text or "")
            elif name == "r":
                parts.extend(x.text or "" for x in child if _local(x.tag) == "t")
        out[i] = "".join(parts)
    return out


# --- whole sheets ----------------------------------------------------------------------

def load_sheets(path: Path, body_start: Callable[[str, list[list[object]]], int | None] | None = None
                ) -> dict[str, SheetGrid]:
    """Every worksheet (hidden ones included) as a SheetGrid, each cell read once.

    ``body_start(name, head_rows)`` says where a sheet's typed body begins (the row
    under its header); by default at row 1 (the whole sheet typed, so a sheet with a
    title row above numbers reads cell by cell). Rows above the body come from the
    scanned zone, whose date cells are serial numbers: only titles and headers may be there.
    """
    import fastexcel

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            members, sst = workbook_parts(zf)
            heads = {name: read_head(zf, member, sst, HEADER_SCAN_ROWS) for name, member in members.items()}
        reader = fastexcel.read_excel(str(path))
    except (KeyError, ValueError, OSError, fastexcel.FastExcelError):
        # Parts the fast path does not find by their canonical names (``xl\\workbook.xml``, a
        # lower-case ``[content_types].xml``, parts at the zip root: etl.intake.safety lets
        # these through because Excel and calamine open them): read them the slow way.
        return _calamine_all(path)
    out: dict[str, SheetGrid] = {}
    for name in reader.sheet_names:
        if name not in heads:
            continue                                    # a chart sheet
        head = heads[name]
        start = body_start(name, head) if body_start else None
        start = 0 if start is None else min(start, len(head))
        grid = _typed(reader, name, head, start)
        out[name] = grid if grid is not None else _calamine_sheet(path, name)
    return out


def _typed(reader, name: str, head: list[list[object]], start: int) -> SheetGrid | None:
    """Head rows above ``start`` plus a strictly typed fastexcel body; None when a column mixes types."""
    if start >= len(head) and len(head) < HEADER_SCAN_ROWS and not any(v is not None for r in head for v in r):
        return _from_head(head)                         # nothing at all below the header
    try:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=start, dtype_coercion="strict",
                                  schema_sample_rows=None)
        # (every column is selected: ``selected_columns`` is what ``available_columns()`` would
        # compute again, 0.09 s on the 200k file, for free)
        absolute = [c.absolute_index for c in sheet.selected_columns]
        body = sheet.to_arrow()
    except Exception:  # noqa: BLE001 - mixed types (or anything fastexcel refuses): read cell by cell
        return None
    if len(absolute) != body.num_columns:
        return None
    n_body = body.num_rows
    height = start + n_body if n_body else len(head)
    width = max([len(r) for r in head[:start]] + [a + 1 for a in absolute] + [0])
    by_abs = dict(zip(absolute, body.columns, strict=True))
    codes: list[np.ndarray] = []
    distinct: list[list[object]] = []
    with gc_paused():
        for c in range(width):
            top = [r[c] if c < len(r) else None for r in head[:start]]
            top_codes, top_distinct = _encode_values(top)
            if c in by_abs:
                body_codes, body_distinct = _encode_arrow(by_abs[c])
            else:
                body_codes, body_distinct = np.full(height - start, _EMPTY, dtype=np.int32), []
            shifted = np.where(top_codes >= 0, top_codes + len(body_distinct), _EMPTY).astype(np.int32)
            col = np.concatenate([shifted, body_codes])
            if len(col) < height:
                col = np.concatenate([col, np.full(height - len(col), _EMPTY, dtype=np.int32)])
            codes.append(col[:height])
            distinct.append(body_distinct + top_distinct)
    return SheetGrid(height=height, width=width, codes=codes, distinct=distinct, typed_from=start)


def _from_head(head: list[list[object]]) -> SheetGrid:
    grid = as_grid(head)
    grid.reader, grid.typed_from = "head", len(head)
    return grid


def _calamine_all(path: Path) -> dict[str, SheetGrid]:
    """Every worksheet through python-calamine, for workbooks with an odd zip layout."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        names = [m.name for m in wb.sheets_metadata if str(m.typ) == "SheetTypeEnum.WorkSheet"]
    finally:
        wb.close()
    return {name: _calamine_sheet(path, name) for name in names}


def _calamine_sheet(path: Path, name: str) -> SheetGrid:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        with gc_paused():
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    finally:
        wb.close()
    grid = as_grid(rows)
    grid.reader = "calamine"
    return grid
