"""Personal-data screen: runs on the raw cells of every sheet, before anything else.

Runs on the located grids (``etl.intake.grid``: columns of distinct values and row
codes): the title and header zone cell by cell, the body per column and vectorised:
numbers through the BSN 11-test as array arithmetic, text through one Arrow regex pass
that keeps only the values that could be an identifier, each then confirmed by
``value_kind``. Every value is looked at once per column, never once per cell.

Partners deliver aggregates or pseudonymised records only. A direct identifier
anywhere (a column named like one, or a value that looks like one, in any sheet,
hidden ones and unknown columns included) refuses the whole file. Problems name the
sheet and column, never the value: the receipt and the logs are outputs too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from etl.core.problems import Problem, error
from etl.core.sources import Source, fold
from etl.intake.grid import SheetGrid, as_grid, present_codes
from etl.intake.texts import Joined

# Folded header words that name a direct identifier.
_PII_HEADER = re.compile(
    r"^(naam|voornaam|voornamen|achternaam|roepnaam|geslachtsnaam|meisjesnaam|naam client|naam clint|clientnaam|"
    r"bsn|burgerservicenummer|sofinummer|sofi nummer|geboortedatum|geb datum|geboren|geboorte datum|"
    r"adres|woonadres|straat|straatnaam|huisnummer|postcode huisnummer|postcode|"
    r"telefoon|telefoonnummer|tel|tel nr|telnr|mobiel|mobiel nummer|gsm|"
    r"e mail|email|e mailadres|emailadres|mail|mailadres)$"
    r"|\b(bsn|burgerservicenummer|geboortedatum|e ?mail ?adres|telefoonnummer|woonadres|achternaam|voornaam)\b"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\d])(?:\+31|0031|0)[\s-]?(?:6[\s-]?\d{8}|[1-9]\d[\s-]?\d{7}|[1-9]\d{2}[\s-]?\d{6})(?![\d])")
# "1234 AB 12", "1234AB, 12", "1234AB-12"; not inside a longer code such as a pseudonym "C-9876AB05".
_ADDRESS = re.compile(r"(?<![\w-])[1-9]\d{3}\s?[A-Z]{2}(?:\s*,\s*|\s+|-)\d{1,5}(?![\w])")
_NINE_DIGITS = re.compile(r"^\d{9}$")
_SEPARATORS = re.compile(r"[\s.-]")


def bsn_eleven_test(digits: str) -> bool:
    """The BSN 'elfproef': sum(d_i * w_i) with weights 9..2 and -1 is divisible by 11."""
    if not _NINE_DIGITS.match(digits) or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def value_kind(value: object) -> str | None:
    """What kind of direct identifier a cell value looks like, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():   # fractions, and inf/nan from a crafted file
            return None
        digits = str(int(value))
        return "burgerservicenummer" if bsn_eleven_test(digits.zfill(9)) and len(digits) >= 8 else None
    if not isinstance(value, str) or len(value) < 6:
        return None
    text = value.strip()
    compact = _SEPARATORS.sub("", text)
    if bsn_eleven_test(compact):
        return "burgerservicenummer"
    if "@" in text and _EMAIL.search(text):
        return "e-mailadres"
    if _PHONE.search(text):
        return "telefoonnummer"
    if _ADDRESS.search(text):
        return "adres (postcode met huisnummer)"
    return None


def screen_grids(grids: dict[str, SheetGrid | Sequence[Sequence[object]]], source: Source,
                 header_rows: dict[str, int] | None = None) -> list[Problem]:
    """One problem per (sheet, column) holding a direct identifier; never the value.

    ``header_rows`` (sheet -> 0-based row) lets the screen name the column by its
    header; without it columns are named by their Excel letter.
    """
    known = {f for sheet in source.sheets for col in sheet.columns for f in col.folded_names}
    problems: list[Problem] = []
    for sheet_name, raw_grid in grids.items():
        grid = as_grid(raw_grid)
        header_idx = (header_rows or {}).get(sheet_name)
        header = grid.row(header_idx) if header_idx is not None and header_idx < grid.height else []
        flagged: dict[int, tuple[str, list[int]]] = {}
        limit = header_idx if header_idx is not None else 30
        for r in range(min(limit + 1, grid.height)):      # title and header rows: cell by cell
            for c, value in enumerate(grid.row(r)):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    f = fold(value)
                    if f and f not in known and len(f) <= 40 and _PII_HEADER.search(f):
                        flagged.setdefault(c, ("kolomnaam die op persoonsgegevens wijst", []))[1].append(r + 1)
                        continue
                kind = value_kind(value)
                if kind:
                    flagged.setdefault(c, (f"waarden die op een {kind} lijken", []))[1].append(r + 1)
        _screen_values(grid, limit + 1, flagged)
        for c, (what, rows) in sorted(flagged.items()):
            col_name = _column_label(header, c)
            problems.append(error(
                "persoonsgegevens",
                f"{what[:1].upper()}{what[1:]}. Het hele bestand is daarom niet aangenomen.",
                "Verwijder de kolom of de gegevens die naar personen herleidbaar zijn (namen, BSN, geboortedatum, adres, telefoonnummer, e-mail). "
                "Lever alleen aantallen of pseudoniemen aan, en lever het bestand daarna opnieuw aan.",
                sheet=sheet_name, column=col_name, rows=tuple(sorted(set(rows))),       # all of them: the receipt says the full range and count
            ))
    return problems


# Superset of what value_kind can flag in a text, in RE2 syntax (no look-arounds): an "@",
# nine digits or more (BSN, phone numbers), or a postcode followed by a house number.
#: A cheap pre-filter: only texts that match may be personal data (the exact rules follow).
#: Python's ``re``, not pyarrow compute: Arrow's compute thread pool reserves address space
#: per thread and fails with MemoryError under the sandbox's RLIMIT_AS (seen in tests).
_TEXT_CANDIDATE = re.compile(r"@|(?:\d\D*){9}|[1-9]\d{3}\s?[A-Z]{2}(?:\s*,\s*|\s+|-)\d")


# The postcode part of ``_TEXT_CANDIDATE`` for texts joined by NUL (which XML cannot hold):
# no class matches the NUL, so no match spans two texts.
_POSTCODE_JOINED = re.compile(r"[1-9]\d{3}[^\S\x00]?[A-Z]{2}(?:[^\S\x00]*,[^\S\x00]*|[^\S\x00]+|-)\d")


def _text_candidates(texts: list[str]) -> list[int]:
    """Indexes of the texts that ``_TEXT_CANDIDATE`` finds something in.

    A column of 200k distinct casus ids costs 200k regex searches (0.28 s, mostly the
    nine-digits part trying every digit). Instead, on all texts at once (``Joined``): the
    digits per text counted by numpy (a non-ASCII character counts as a digit: ``\\d`` is
    Unicode, and a superset is safe), the "@" and the postcode part in one pass each; only
    the texts that pass get the exact regex."""
    joined = Joined(texts)
    if not joined.usable:
        return [j for j, t in enumerate(texts) if _TEXT_CANDIDATE.search(t)]
    points = joined.points
    maybe = joined.count_per_text(((points >= 48) & (points <= 57)) | (points > 127)) >= 9
    maybe |= joined.count_per_text(points == 64) > 0
    maybe |= joined.where(_POSTCODE_JOINED)
    return [j for j in np.flatnonzero(maybe).tolist() if _TEXT_CANDIDATE.search(texts[j])]


def bsn_mask(values: np.ndarray) -> np.ndarray:
    """The BSN 11-test over an array of numbers, as ``value_kind`` applies it to a number:
    a whole number of 8 or 9 digits whose digits, weighted 9..2 and -1, sum to a multiple of 11."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & (v == np.floor(v)) & (v >= 10_000_000) & (v <= 999_999_999)
    n = np.where(ok, v, 0).astype(np.int64)
    total = np.zeros(len(n), dtype=np.int64)
    for i, w in enumerate(range(9, 1, -1)):
        total += (n // 10 ** (8 - i) % 10) * w
    total -= n % 10
    return ok & (total % 11 == 0)


def distinct_kinds(values: list[object]) -> dict[int, str]:
    """Index -> kind for the distinct values of one column that look like a direct identifier.

    Numbers go through ``bsn_mask`` as one array; texts through one compiled regex
    that keeps the candidates, each confirmed by ``value_kind`` (the exact rules).
    """
    kinds: dict[int, str] = {}
    types = set(map(type, values))              # (one C-level pass: most columns hold one type)
    num_idx = [i for i, v in enumerate(values) if type(v) in (int, float)] if types & {int, float} else []
    if num_idx:
        nums = np.array([float(values[i]) for i in num_idx], dtype=np.float64)
        for j in np.flatnonzero(bsn_mask(nums)).tolist():
            kinds[num_idx[j]] = "burgerservicenummer"
    if types == {str}:                          # a text column: the lengths by numpy
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        str_idx = np.flatnonzero(lengths >= 6).tolist()
    else:
        str_idx = [i for i, v in enumerate(values) if type(v) is str and len(v) >= 6]
    for j in _text_candidates([values[i] for i in str_idx]):
        kind = value_kind(values[str_idx[j]])
        if kind:
            kinds[str_idx[j]] = kind
    if types - {int, float, str, bool, type(None)}:    # anything else (subclasses of str/int, exotic cells): the exact rules
        for i, v in enumerate(values):
            if type(v) not in (int, float, str, bool) and v is not None and (kind := value_kind(v)):
                kinds[i] = kind
    return kinds


def _screen_values(grid: SheetGrid, start: int, flagged: dict[int, tuple[str, list[int]]]) -> None:
    """Below the header zone only values count: each distinct value of a column once
    (``distinct_kinds``), flagged rows selected with numpy, in row order."""
    if start >= grid.height:
        return
    for c in range(grid.width):
        body = grid.codes[c][start:]
        present = present_codes(body, len(grid.distinct[c]))
        if not len(present):
            continue
        values = grid.distinct[c]
        kinds = distinct_kinds([values[k] for k in present.tolist()])
        if not kinds:
            continue
        by_kind: dict[str, list[int]] = {}
        for j, kind in kinds.items():
            by_kind.setdefault(kind, []).append(int(present[j]))
        hits = {kind: set(np.flatnonzero(np.isin(body, codes)).tolist()) for kind, codes in by_kind.items()}
        kind_of_row = {r: kind for kind, rs in hits.items() for r in rs}
        for i in sorted(kind_of_row):
            flagged.setdefault(c, (f"waarden die op een {kind_of_row[i]} lijken", []))[1].append(start + i + 1)


def column_letter(idx: int) -> str:
    letters = ""
    idx += 1
    while idx:
        idx, rem = divmod(idx - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_label(header: list[object], c: int) -> str:
    letter = column_letter(c)
    if c < len(header) and isinstance(header[c], str) and header[c].strip():
        title = header[c].strip()
        if not value_kind(title):
            return f"{letter} ('{title}')"
    return letter
