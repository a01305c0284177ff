"""Read a partner workbook the way a person reads it.

The header row is found wherever it is (title rows, logos, blank rows above it),
headers are matched through the aliases in the source description, a ``Totaal`` row is
checked against the sum of the rows above it and dropped, notes under the table are
ignored, and every cell is parsed with the contract's value rules. Nothing is
dropped silently: every cell that cannot be read becomes a ``Problem`` with its Excel
row, and extra columns and hidden sheets are mentioned in the receipt.

fastexcel (calamine underneath, straight into Arrow) does the reading, each sheet once,
into dictionary-encoded columns (``etl.intake.grid``); python-calamine cell by cell
only for sheets whose columns mix types. Both are immune to the wrong ``<dimension>``
tags that make openpyxl's read-only mode see an empty sheet and return cached formula
values; formulas without a cached value are found by ``etl.intake.safety``.

Sheets and headers are located once (``locate``) and the same located grids go to
the personal-data screen and the reader (``etl.intake.analyse``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from etl.core.control_sheet import is_control_sheet
from etl.core.problems import Problem, error, warning
from etl.core.reference import wijk_names
from etl.core.sources import Column, Sheet, Source, fold
from etl.intake.grid import HEADER_SCAN_ROWS, SheetGrid, as_grid, load_sheets, present_codes
from etl.intake.parse import ParseError, is_empty, parse_texts, parser_for
from etl.intake.safety import WorkbookInfo
from etl.intake.screen import column_letter
from etl.intake.texts import Joined

Grid = SheetGrid | list[list[object]]
_TOTAL_WORDS = ("totaal", "total", "totalen", "eindtotaal", "som", "regio totaal", "totaal regio")


@dataclass
class SheetData:
    """One sheet, parsed: ``frame`` is indexed by Excel row number, columns are contract names."""

    spec: Sheet
    found_name: str
    header_row: int                                   # Excel row number of the header
    frame: pd.DataFrame
    suppressed: dict[str, list[int]]                  # column -> Excel rows with "<5"
    letters: dict[str, str]                           # column -> Excel column letter
    headers: dict[str, str]                           # column -> header as written
    extra_columns: list[str] = field(default_factory=list)
    totals_row: int | None = None
    unreadable: dict[str, list[int]] = field(default_factory=dict)   # column -> Excel rows already reported unreadable


@dataclass
class ReadResult:
    sheets: dict[str, SheetData] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def periodes(self) -> list[str]:
        found: set[str] = set()
        for sd in self.sheets.values():
            if "periode" in sd.frame:
                found.update(p for p in sd.frame["periode"].dropna() if isinstance(p, str) and len(p) == 6)
        return sorted(found)


def load_sheets_for(path: Path, source: Source | None = None) -> dict[str, SheetGrid]:
    """Every sheet (hidden ones included), each read once; with a source, the typed body of a
    contract sheet starts under its header (found in the scanned zone)."""
    if source is None:
        return load_sheets(path)

    def body_start(name: str, head: list[list[object]]) -> int | None:
        spec = _spec_for_sheet(name, source)
        if spec is None:
            return None
        idx, _, _ = find_header(head, spec)
        return None if idx is None else idx + 1

    return load_sheets(path, body_start)


def load_grids(path: Path) -> dict[str, list[list[object]]]:
    """Every sheet as a list of rows of raw values, row 0 = Excel row 1 (hidden sheets included).

    For callers that want plain grids (the marked-up copy's tests); the pipeline keeps
    the column form (``load_sheets_for``)."""
    return {name: g.to_lists() for name, g in load_sheets(path).items()}


def _spec_for_sheet(name: str, source: Source) -> Sheet | None:
    key = header_key(name)
    return next((spec for spec in source.sheets if key in {header_key(n) for n in spec.folded_names}), None)


def header_key(text: object) -> str:
    """Header and sheet-name key: folded and without spaces, so that ``Kinder-mishandeling``,
    ``kinder_mishandeling`` and ``Kindermishandeling`` are one column (the contract folds
    spaces, underscores and punctuation). No two columns of a sheet share a key
    (checked in tests/intake/test_catalogue.py)."""
    return fold(text).replace(" ", "")


#: First cell of the greyed example row in our partner templates (etl.tools.templates): never data.
EXAMPLE_MARK = "Voorbeeld"

#: Sheets the blank partner template (etl.tools.templates) adds: never data, never worth a warning.
TEMPLATE_SHEETS = frozenset({"toelichting", "keuzelijsten"})


def match_sheets(grids: dict[str, Grid], source: Source) -> tuple[dict[str, str], list[Problem]]:
    """Contract sheet name -> sheet name in the workbook (case, spacing and aliases folded)."""
    problems: list[Problem] = []
    found: dict[str, str] = {}
    for spec in source.sheets:
        keys = {header_key(n) for n in spec.folded_names}
        hits = [name for name in grids if header_key(name) in keys]
        if len(hits) > 1:
            problems.append(error("tabblad_dubbel", f"Er zijn meerdere tabbladen die '{spec.name}' kunnen zijn: {', '.join(hits)}.",
                                  f"Houd één tabblad '{spec.name}' over.", sheet=hits[0]))
        if hits:
            found[spec.name] = hits[0]
    for name, grid in grids.items():
        if header_key(name) in TEMPLATE_SHEETS:  # our own template's instructions and pick lists (etl.tools.templates)
            continue
        if is_control_sheet(as_grid(grid).cell(0, 0)):  # the Controle sheet of our marked-up copy, dropped back (etl.intake.markup)
            continue
        if name not in found.values() and as_grid(grid).has_content(is_empty):
            problems.append(warning("tabblad_genegeerd", f"Het tabblad '{name}' hoort niet bij de aanlevering en is niet gelezen.",
                                    "Geen actie nodig als dit tabblad geen gegevens voor de monitor bevat.", sheet=name))
    return found, problems


def find_header(grid: Grid, spec: Sheet) -> tuple[int | None, dict[int, Column], list[int]]:
    """The row (0-based) that matches most contract headers; its column map; duplicate columns."""
    lookup = {header_key(f): c for c in spec.columns for f in c.folded_names}
    best: tuple[int, int | None] = (0, None)
    head = grid[:HEADER_SCAN_ROWS]
    for r, row in enumerate(head):
        hits = {lookup[header_key(v)].name for v in row if isinstance(v, str) and header_key(v) in lookup}
        if len(hits) > best[0]:
            best = (len(hits), r)
    needed = min(2, len(spec.columns))
    if best[1] is None or best[0] < needed:
        return None, {}, []
    r = best[1]
    mapping: dict[int, Column] = {}
    seen: dict[str, int] = {}
    duplicates: list[int] = []
    for c, v in enumerate(head[r]):
        if isinstance(v, str) and header_key(v) in lookup:
            col = lookup[header_key(v)]
            if col.name in seen:
                duplicates.append(c)
                continue
            seen[col.name] = c
            mapping[c] = col
    return r, mapping, duplicates


def _is_total_row(row: Sequence[object]) -> bool:
    """A ``Totaal`` label in one of the leading cells, before the first number.

    Partners put the label in the first column (``Totaal``) or in the area column with
    the quarter still filled in (``2024-Q3 | Totaal regio | 380 | ...``).
    """
    leading = 0
    for v in row:
        if v is None or v == "":
            continue
        if isinstance(v, bool | int | float):
            return False
        leading += 1
        if isinstance(v, str) and _is_total_label(v):
            return True
        if leading >= 3:
            return False
    return False


_TOTAL_STEMS = ("tot", "som")
assert all(any(stem in w for stem in _TOTAL_STEMS) for w in _TOTAL_WORDS)


def _is_total_label(text: str) -> bool:
    """``fold(text)`` is a total word. Runs for the leading cells of every row, ids included.

    Folding ASCII text only lower-cases it and turns runs of other characters into
    spaces, so letters adjacent after folding were adjacent before: ASCII text without
    a stem of every total word cannot fold to one, and the (costly, uncacheable for
    unique ids) fold is skipped.
    """
    if text.isascii():
        low = text.lower()
        if "tot" not in low and "som" not in low:       # _TOTAL_STEMS, spelled out: this runs per row
            return False
    f = fold(text)
    return f in _TOTAL_WORDS or f.startswith("totaal ")


def parse_sheet(grid: Grid, spec: Sheet, found_name: str, info: WorkbookInfo,
                header: tuple[int | None, dict[int, Column], list[int]] | None = None) -> tuple[SheetData | None, list[Problem]]:
    """``header``: the sheet's (header row, column map, duplicates) from ``locate``, so it is found once."""
    problems: list[Problem] = []
    grid = as_grid(grid)
    header_idx, mapping, duplicates = header if header is not None else find_header(grid, spec)
    if header_idx is None:
        problems.append(error(
            "kopregel_niet_gevonden",
            f"In tabblad '{found_name}' is geen kopregel met de verwachte kolomnamen gevonden.",
            f"Zet boven de gegevens één regel met de kolomnamen: {', '.join(c.name for c in spec.columns)}.",
            sheet=found_name))
        return None, problems
    header_row = header_idx + 1
    header = grid[header_idx]
    for c in duplicates:
        problems.append(error("kolom_dubbel", f"De kolom '{header[c]}' komt twee keer voor.",
                              "Verwijder of hernoem een van de twee kolommen.", sheet=found_name,
                              column=str(header[c]), rows=(header_row,), cells=(f"{column_letter(c)}{header_row}",)))
    present = {col.name for col in mapping.values()}
    for col in spec.columns:
        if col.name not in present:
            make = error if col.required else warning
            problems.append(make(
                "kolom_ontbreekt", f"De kolom '{col.name}' ontbreekt in tabblad '{found_name}'.",
                f"Voeg de kolom '{col.name}' toe aan de kopregel (regel {header_row})." if col.required
                else f"Voeg de kolom '{col.name}' toe; zonder deze kolom ontbreken deze cijfers voor dit kwartaal.",
                sheet=found_name, column=col.name, rows=(header_row,)))
    extra = [str(v).strip() for c, v in enumerate(header)
             if c not in mapping and c not in duplicates and isinstance(v, str) and v.strip()]
    if extra:
        problems.append(warning("kolom_onbekend", f"Deze kolommen kennen we niet en zijn niet gelezen: {', '.join(extra)}.",
                                "Geen actie nodig als deze kolommen geen gegevens voor de monitor bevatten.",
                                sheet=found_name, rows=(header_row,)))
    width = grid.width
    formula_cells = set(info.formulas_without_value.get(found_name, ()))

    # Which rows hold data: non-empty in a mapped column, before a totals row (column-wise).
    data_rows, totals_idx, after_totals = _classify_rows(grid, header_idx, mapping)
    data_rows = _drop_example_rows(grid, data_rows, mapping)
    if after_totals:
        problems.append(error("gegevens_na_totaal", "Onder de regel 'Totaal' staan nog gegevens.",
                              "Zet de regel 'Totaal' onderaan de tabel, of verwijder hem.",
                              sheet=found_name, rows=tuple(after_totals)))

    rows_arr = np.asarray(data_rows, dtype=np.int64)
    index = pd.Index([r + 1 for r in data_rows], name="excel_rij")
    frame = pd.DataFrame(index=index)
    suppressed: dict[str, list[int]] = {}
    unreadable: dict[str, list[int]] = {}
    letters: dict[str, str] = {}
    headers: dict[str, str] = {}
    for c, col in mapping.items():
        letter = column_letter(c)
        letters[col.name] = letter
        headers[col.name] = str(header[c]).strip()
        raw, series, supp, errs, markers = _read_column(grid, c, rows_arr, col, index)
        frame[col.name] = series
        if supp:
            suppressed[col.name] = [data_rows[i] + 1 for i in supp]
            problems.append(_suppressed_problem(spec, col, found_name, headers[col.name], letter, suppressed[col.name]))
        # "n.v.t." in a column that may be empty (einddatum of an open case) is that empty value:
        # read as its declared type, no warning. Elsewhere it is an unknown figure, named.
        for text, idxs in ({} if col.nullable else markers).items():
            problems.append(_marker_problem(col, found_name, headers[col.name], letter,
                                            [data_rows[i] + 1 for i in idxs], text))
        if col.type in {"count", "number", "bool"} and not col.nullable and col.name not in spec.key:
            empty = [k for k, v in enumerate(raw.values) if v is None or v == ""]
            blank = [data_rows[i] + 1 for i in np.flatnonzero(np.isin(raw.codes, empty)).tolist()]
            if blank:
                problems.append(_blank_problem(col, found_name, headers[col.name], letter, blank))
        for message, idxs in errs.items():
            rows = tuple(data_rows[i] + 1 for i in idxs)
            unreadable.setdefault(col.name, []).extend(rows)
            examples = () if col.type in {"id", "text"} else tuple(dict.fromkeys(str(raw[i]) for i in idxs))[:5]
            problems.append(error(
                "waarde_onleesbaar",
                f"In de kolom '{headers[col.name]}' staat {message}.",
                _fix_for(col),
                sheet=found_name, column=headers[col.name], rows=rows,
                cells=tuple(f"{letter}{r}" for r in rows[:200]), examples=examples))
        if formula_cells:
            fc = [r + 1 for r in data_rows if f"{letter}{r + 1}" in formula_cells]
            if fc:
                problems.append(error(
                    "formule_zonder_waarde",
                    f"In de kolom '{headers[col.name]}' staan formules zonder berekende waarde.",
                    "Open het bestand in Excel, laat het herberekenen (F9), sla het op en lever opnieuw aan. Of plak de cellen als waarden.",
                    sheet=found_name, column=headers[col.name], rows=tuple(fc),
                    cells=tuple(f"{letter}{r}" for r in fc)))
    for col in spec.columns:
        if col.name not in frame:
            frame[col.name] = _as_series([None] * len(index), col, index)
    sd = SheetData(spec=spec, found_name=found_name, header_row=header_row, frame=frame,
                   suppressed=suppressed, letters=letters, headers=headers, extra_columns=extra, unreadable=unreadable,
                   totals_row=totals_idx + 1 if totals_idx is not None else None)
    if totals_idx is not None:
        problems.extend(_check_totals(grid[totals_idx], mapping, sd))
    if width > 0 and not data_rows:
        problems.append(warning("tabblad_leeg", f"Tabblad '{found_name}' bevat geen gegevens onder de kopregel.",
                                "Vul de gegevens in of verwijder het tabblad.", sheet=found_name))
    return sd, problems


def _drop_example_rows(grid: SheetGrid, data_rows: list[int], mapping: dict[int, Column]) -> list[int]:
    """Without the template's example row(s): ``Voorbeeld`` in the table's first column."""
    first = min(mapping, default=0)
    if first >= grid.width or not data_rows:
        return data_rows
    hits = [k for k, v in enumerate(grid.distinct[first])
            if isinstance(v, str) and v.strip().casefold() == EXAMPLE_MARK.casefold()]
    if not hits:
        return data_rows
    example = np.isin(grid.column_codes(first), hits)
    return [r for r in data_rows if not example[r]]


def _maybe_total_label(v: object) -> bool:
    """Cheap superset of ``_is_total_label`` for one distinct value (see there)."""
    if not isinstance(v, str):
        return False
    if not v.isascii():
        return True
    low = v.lower()
    return "tot" in low or "som" in low


def _maybe_total_labels(values: list[object]) -> list[int]:
    """Indexes of the values ``_maybe_total_label`` keeps, for all distinct values of a
    column at once (``Joined``): a column of 200k distinct ids is not 200k calls."""
    types = set(map(type, values))
    texts = list(range(len(values))) if types == {str} else [k for k, v in enumerate(values) if type(v) is str]
    joined = Joined(values if types == {str} else [values[k] for k in texts])
    hits: set[int] = set()
    if joined.usable:
        keep = joined.non_ascii() | joined.where_lower("tot", "som")
        hits.update(texts[j] for j in np.flatnonzero(keep).tolist())
    else:
        hits.update(k for k in texts if _maybe_total_label(values[k]))
    if types - {str, type(None)}:
        hits.update(k for k, v in enumerate(values) if type(v) is not str and _maybe_total_label(v))
    return sorted(hits)


def _classify_rows(grid: SheetGrid, header_idx: int, mapping: dict[int, Column]) -> tuple[list[int], int | None, list[int]]:
    """Data rows (0-based), the totals row and the Excel rows with data under it.

    The same rules as reading row by row (a ``Totaal`` row once data has started,
    notes of at most three free-text cells, empty rows skipped), computed on the column
    codes: only rows that may be a totals row or a note are looked at one by one.
    """
    start = header_idx + 1
    n = max(grid.height - start, 0)
    if n == 0:
        return [], None, []
    filled = np.zeros(n, dtype=np.int16)
    for c in mapping:
        filled += grid.column_codes(c)[start:] >= 0
    data = filled > 0
    for i in np.flatnonzero(data & (filled <= 3)).tolist():
        if _is_note(grid.row(start + i), mapping):
            data[i] = False
    candidates = np.zeros(n, dtype=bool)
    for c in range(grid.width):
        hits = _maybe_total_labels(grid.distinct[c])
        if hits:
            candidates |= np.isin(grid.codes[c][start:], hits)
    totals: int | None = None
    first_data = int(np.argmax(data)) if data.any() else n
    for i in np.flatnonzero(candidates).tolist():
        if i > first_data and _is_total_row(grid.row(start + i)):
            totals = i
            break
    if totals is None:
        return (np.flatnonzero(data) + start).tolist(), None, []
    data_rows = (np.flatnonzero(data[:totals]) + start).tolist()
    after = (np.flatnonzero(filled[totals + 1:] >= 2) + start + totals + 1 + 1).tolist()
    return data_rows, start + totals, after


class _Expanded(Sequence):
    """Per-row raw values of a column without a Python object per row: distinct values by code."""

    def __init__(self, values: list[object], codes: np.ndarray) -> None:
        self.values, self.codes = values, codes

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):  # type: ignore[override]
        return self.values[self.codes[i]]


def _read_column(grid: SheetGrid, c: int, rows: np.ndarray, col: Column, index: pd.Index
                 ) -> tuple[_Expanded, pd.Series, list[int], dict[str, list[int]], dict[str, list[int]]]:
    """One mapped column of the data rows, parsed once per distinct value (``_parse_column``
    on the distinct values; parsers are pure) and expanded to rows with numpy.

    Returns the raw values per row, the Series, and the suppressed, unreadable and
    unknown-marker cells as positions in ``rows``, as ``_parse_column`` gives them for a
    list of cells.
    """
    codes = grid.column_codes(c)[rows] if len(rows) else np.empty(0, dtype=np.int32)
    used = present_codes(codes, len(grid.distinct[c]) if c < grid.width else 0)
    distinct = grid.distinct[c] if c < grid.width else []
    sub = [distinct[k] for k in used.tolist()] + [None]          # last entry: the empty cell
    remap = np.full(len(distinct) + 1, len(sub) - 1, dtype=np.int64)   # code -1 -> remap[-1] -> None
    remap[used] = np.arange(len(used))
    local = remap[codes]
    values, supp, errs, markers = _parse_column(sub, col)
    typed = _as_series(values, col, pd.RangeIndex(len(sub)))
    series = pd.Series(typed.to_numpy()[local], index=index, dtype=typed.dtype)

    def positions(idxs: list[int]) -> list[int]:
        return np.flatnonzero(np.isin(local, idxs)).tolist() if idxs else []

    return (_Expanded(sub, local), series, positions(supp),
            {message: positions(idxs) for message, idxs in errs.items()},
            {text: positions(idxs) for text, idxs in markers.items()})


def _is_note(row: Sequence[object], mapping: dict[int, Column]) -> bool:
    """Free text under or beside the table (``Bron: ...``) is a note, not data.

    Called for rows with at most three filled cells; a cell that reads as a valid
    value for its column (a municipality, a quarter, a number) makes the row data.
    """
    filled = [(v, col) for c, col in mapping.items() if (v := row[c] if c < len(row) else None) not in (None, "")]
    return all(_note_like(v, col) for v, col in filled)


def _note_like(v: object, col: Column) -> bool:
    """A cell that is free text and no valid value for its column. A note may span a few
    cells (``Toelichting: | aantallen per gemeente``): every filled cell must look like this."""
    if not isinstance(v, str):
        return False
    if col.type in {"text", "id"}:
        return len(v) > 30 or ":" in v
    try:
        parsed = parser_for(col.type, col.allowed)(v)
    except ParseError:
        return True
    if col.type == "gemeente":
        return not str(parsed.value).startswith("GM")
    if col.type == "wijk":
        return parsed.value not in wijk_names()
    if col.type == "enum":
        return parsed.value not in col.allowed
    return parsed.value is None


_NOT_FINITE = "geen geldig getal (oneindig of ongedefinieerd)"   # "inf"/"nan" in the XML: Excel never writes them


def _parse_column(raw: list[object], col: Column) -> tuple[list[object], list[int], dict[str, list[int]], dict[str, list[int]]]:
    """Values, indexes of ``<5`` cells, unreadable cells by message, "unknown" texts by text."""
    if col.type in {"id", "text"}:                      # mostly unique: see parse_texts
        bad = [i for i, v in enumerate(raw) if type(v) is float and not math.isfinite(v)] if float in set(map(type, raw)) else []
        texts = parse_texts(raw)
        for i in bad:
            texts[i] = None
        return texts, [], ({_NOT_FINITE: bad} if bad else {}), {}
    parse = parser_for(col.type, col.allowed)
    values: list[object] = [None] * len(raw)
    suppressed: list[int] = []
    errors: dict[str, list[int]] = defaultdict(list)
    markers: dict[str, list[int]] = defaultdict(list)
    fast_numeric = col.type in {"count", "number"}
    # Parsers are pure functions of the cell value, and most columns repeat a few values
    # (quarters, areas, ja/nee, dates): parse each distinct (type, value) once. The type is
    # part of the key because 1 == 1.0 == True (a str only equals a str: its own key).
    # Ids and free text are mostly unique: no memo.
    memo: dict[object, object] | None = None if col.type in {"id", "text"} else {}
    for i, v in enumerate(raw):
        if v is None or v == "":
            continue
        if type(v) is float and not math.isfinite(v):      # "inf"/"nan" in the XML: Excel never writes them
            errors[_NOT_FINITE].append(i)
            continue
        if fast_numeric and type(v) is float and (col.type == "number" or v.is_integer()):
            values[i] = v
            continue
        key = v if type(v) is str else (type(v), v)
        p = memo.get(key) if memo is not None else None
        if p is None:
            try:
                p = parse(v)
            except ParseError as exc:
                p = str(exc)
            if memo is not None:
                memo[key] = p
        if type(p) is str:
            errors[p].append(i)
            continue
        values[i] = p.value
        if p.suppressed:
            suppressed.append(i)
        elif p.marker is not None:
            markers[p.marker].append(i)
    return values, suppressed, dict(errors), dict(markers)


MAX_CELLS = 200      # cell addresses kept per problem (rows are kept in full)


def _cells_nl(cells: Sequence[str], limit: int = 10) -> str:
    """``cel I12`` / ``cellen I12, I15 en I20`` / ``... en nog 40 andere``: addresses as a person reads them."""
    cells = list(cells)
    if len(cells) == 1:
        return f"cel {cells[0]}"
    shown = cells[:limit]
    more = len(cells) - len(shown)
    if more:
        return f"cellen {', '.join(shown)} en nog {more} andere"
    return f"cellen {', '.join(shown[:-1])} en {shown[-1]}"


def _what_unknown_means(col: Column) -> str:
    return {"count": "een onbekend aantal (niet 0)", "number": "een onbekend getal (niet 0)",
            "bool": "onbekend (niet 'nee')", "date": "een onbekende datum"}.get(col.type, "onbekend")


def _fill_in(col: Column, header: str) -> str:
    """What to do, as an action, for a cell that should hold a value of this column's type."""
    if col.type == "count":
        if col.name == "aantal_kinderen":
            return "Vul het juiste aantal in (0 als er geen kinderen zijn, leeg als het onbekend is)."
        return f"Vul het juiste aantal '{header}' in (0 als het er geen waren, leeg als het onbekend is)."
    if col.type == "number":
        return f"Vul het getal '{header}' in, of laat de cel leeg als het onbekend is."
    if col.type == "bool":
        return "Vul 'ja' of 'nee' in, of laat de cel leeg als het onbekend is."
    if col.type == "date":
        return "Vul de datum in als dd-mm-jjjj, of laat de cel leeg als die er (nog) niet is."
    return "Vul de juiste waarde in."


def _marker_problem(col: Column, sheet: str, header: str, letter: str, rows: list[int], text: str) -> Problem:
    """A cell that says "unknown" in words: accepted as unknown, and named."""
    cells = tuple(f"{letter}{r}" for r in rows)
    return warning(
        "tekst_gelezen_als_onbekend",
        f"In de kolom '{header}' staat '{text}' in {_cells_nl(cells)}. Dat hebben we gelezen als {_what_unknown_means(col)}.",
        _fill_in(col, header), sheet=sheet, column=header, rows=tuple(rows), cells=cells[:MAX_CELLS], examples=(text,),
        extra={"gevonden": text, "gelezen_als": "onbekend", "aantal_cellen": len(rows)})


def _blank_problem(col: Column, sheet: str, header: str, letter: str, rows: list[int]) -> Problem:
    cells = tuple(f"{letter}{r}" for r in rows)
    n = len(rows)
    return warning(
        "leeg_gelezen_als_onbekend",
        f"In de kolom '{header}' {'is' if n == 1 else 'zijn'} {_cells_nl(cells)} leeg. "
        f"Dat hebben we gelezen als {_what_unknown_means(col)}.",
        _fill_in(col, header), sheet=sheet, column=header, rows=tuple(rows), cells=cells[:MAX_CELLS],
        extra={"gevonden": "", "gelezen_als": "onbekend", "aantal_cellen": n})


def _suppressed_problem(spec: Sheet, col: Column, sheet: str, header: str, letter: str, rows: list[int]) -> Problem:
    """``<5``: allowed on aggregate count cells (a warning saying what it hides), refused elsewhere."""
    cells = tuple(f"{letter}{r}" for r in rows)
    extra = {"gevonden": "<5", "gelezen_als": "afgeschermd", "aantal_cellen": len(rows)}
    if col.type == "count" and not spec.shielding_allowed:
        return error(
            "niet_toegestaan_lt5",
            f"In de kolom '{header}' staat '<5' in {_cells_nl(cells)}. Op casusregels mag u niet zelf afschermen: "
            "de monitor schermt kleine aantallen zelf af in de rapportage. Met '<5' op een casus is het totaal "
            "voor de wijk en de stad niet meer te berekenen.",
            "Vul het echte aantal in (0 als er geen zijn, leeg als het onbekend is).",
            sheet=sheet, column=header, rows=tuple(rows), cells=cells[:MAX_CELLS], examples=("<5",), extra=extra)
    if col.type != "count":
        return error("niet_toegestaan_lt5", f"In de kolom '{header}' staat '<5' in {_cells_nl(cells)}, maar hier mag geen afgeschermde waarde staan.",
                     "Vul de echte waarde in.", sheet=sheet, column=header, rows=tuple(rows), cells=cells[:MAX_CELLS],
                     examples=("<5",), extra=extra)
    hides = {
        "gemeente": "Het regiototaal van deze kolom is daardoor onbekend (in de rapportage 'x').",
        "wij_groepsaanbod": "Het totaal van deze kolom voor de wijk en de stad is daardoor onbekend (in de rapportage 'x').",
    }.get(spec.tidy, "Dit cijfer staat in de rapportage als '<5'.")
    return warning(
        "afgeschermd_lt5",
        f"In de kolom '{header}' staat '<5' in {_cells_nl(cells)}: door u afgeschermd, dat mag op dit tabblad. {hides}",
        "Geen actie nodig. Lever het echte aantal als u het mag delen: de monitor schermt kleine aantallen zelf af.",
        sheet=sheet, column=header, rows=tuple(rows), cells=cells[:MAX_CELLS], examples=("<5",), extra=extra)


def _as_series(values: list[object], col: Column, index: pd.Index) -> pd.Series:
    if col.type in {"count", "number"}:
        return pd.Series(np.array([np.nan if v is None else float(v) for v in values], dtype="float64"), index=index)
    if col.type == "date":
        return pd.Series(pd.to_datetime([v if isinstance(v, dt.date) else None for v in values]), index=index)
    return pd.Series(values, index=index, dtype="object")


def _fix_for(col: Column) -> str:
    return {
        "periode": "Schrijf het kwartaal als 2024-Q3 (of een datum in dat kwartaal).",
        "count": "Vul een heel getal in (0 of meer), of '<5' als u een klein aantal zelf afschermt. Laat de cel leeg als het aantal onbekend is.",
        "number": "Vul een getal in, of laat de cel leeg als het onbekend is.",
        "bool": "Vul 'ja' of 'nee' in.",
        "date": "Vul een datum in als dd-mm-jjjj (bijvoorbeeld 01-07-2024) of gebruik een Excel-datum.",
    }.get(col.type, "Corrigeer de waarde.")


def _check_totals(row: Sequence[object], mapping: dict[int, Column], sd: SheetData) -> list[Problem]:
    """The partner's own Totaal row must equal the sum of the rows above it, where it can be checked."""
    problems: list[Problem] = []
    assert sd.totals_row is not None
    for c, col in mapping.items():
        if col.type != "count" or c >= len(row) or row[c] in (None, ""):
            continue
        if col.name in sd.suppressed:
            continue
        try:
            stated = parser_for("count")(row[c]).value
        except ParseError:
            continue
        series = sd.frame[col.name]
        if stated is None or series.isna().any():
            continue
        actual = int(series.sum())
        if actual != stated:
            problems.append(error(
                "totaal_klopt_niet",
                f"De regel 'Totaal' geeft voor '{sd.headers[col.name]}' {stated}, maar de regels erboven tellen op tot {actual}.",
                "Controleer de regels erboven en de totaalregel; misschien ontbreekt een regel of staat er een getal verkeerd.",
                sheet=sd.found_name, column=sd.headers[col.name], rows=(sd.totals_row,),
                cells=(f"{sd.letters[col.name]}{sd.totals_row}",), examples=(str(stated),)))
    return problems


@dataclass
class Located:
    """Sheets matched to the contract and their headers found, once per delivery: the
    personal-data screen, the reader and the validator all work from this."""

    grids: dict[str, SheetGrid]
    found: dict[str, str]                                   # contract sheet -> workbook sheet
    problems: list[Problem]
    headers: dict[str, tuple[int | None, dict[int, Column], list[int]]]   # workbook sheet -> find_header

    def header_rows(self) -> dict[str, int]:
        """0-based header row per workbook sheet (names the columns in the screen)."""
        return {name: h[0] for name, h in self.headers.items() if h[0] is not None}


def locate(grids: dict[str, Grid], source: Source) -> Located:
    sheets = {name: as_grid(g) for name, g in grids.items()}
    found, problems = match_sheets(sheets, source)
    headers = {found[spec.name]: find_header(sheets[found[spec.name]], spec) for spec in source.sheets if spec.name in found}
    return Located(grids=sheets, found=found, problems=problems, headers=headers)


def read_workbook(grids: dict[str, Grid] | Located, source: Source, info: WorkbookInfo) -> ReadResult:
    result = ReadResult()
    located = grids if isinstance(grids, Located) else locate(grids, source)
    grids, found = located.grids, located.found
    result.problems.extend(located.problems)
    if not found:
        result.problems.append(error(
            "geen_bekende_tabbladen",
            f"Geen van de verwachte tabbladen is gevonden ({', '.join(s.name for s in source.sheets)}).",
            f"Gebruik de tabbladnamen uit het aanleverformat van {source.naam} (zie het sjabloon).",
        ))
        return result
    for spec in source.sheets:
        if spec.name not in found:
            if spec.required:
                result.problems.append(error("tabblad_ontbreekt", f"Het verplichte tabblad '{spec.name}' ontbreekt.",
                                             f"Voeg het tabblad '{spec.name}' toe (zie het sjabloon).", sheet=spec.name))
            continue
        name = found[spec.name]
        if name in info.hidden:
            result.problems.append(warning("tabblad_verborgen", f"Het tabblad '{name}' is verborgen; we hebben het wel gelezen.",
                                           "Geen actie nodig; controleer wel of de gegevens erop kloppen.", sheet=name))
        sd, problems = parse_sheet(grids[name], spec, name, info, located.headers.get(name))
        result.problems.extend(problems)
        if sd is not None:
            result.sheets[spec.name] = sd
    for spec in source.sheets:
        if spec.name not in found and not spec.required:
            relevant = [p for p in result.periodes if spec.available_from is None or p >= spec.available_from]
            if relevant:
                result.problems.append(warning(
                    "tabblad_ontbreekt", f"Het tabblad '{spec.name}' ontbreekt; deze cijfers ontbreken voor {', '.join(relevant)} (ze tellen niet als 0).",
                    f"Voeg het tabblad '{spec.name}' toe als u deze cijfers heeft.", sheet=spec.name))
    return result


def header_rows(grids: dict[str, Grid], source: Source) -> dict[str, int]:
    """0-based header row per workbook sheet, for naming columns in the personal-data screen."""
    return locate(grids, source).header_rows()
