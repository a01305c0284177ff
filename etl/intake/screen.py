"""Personal-data screen: runs on the raw cells of every sheet, before anything else.

Partners deliver aggregates or pseudonymised records only. A direct identifier
anywhere (a column named like one, or a value that looks like one, in any sheet,
hidden ones and unknown columns included) refuses the whole file. Problems name the
sheet and column, never the value: the receipt and the logs are outputs too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import zip_longest

from etl.core.perf import gc_paused
from etl.core.problems import Problem, error
from etl.core.sources import Source, fold

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


def screen_grids(grids: dict[str, Sequence[Sequence[object]]], source: Source,
                 header_rows: dict[str, int] | None = None) -> list[Problem]:
    """One problem per (sheet, column) holding a direct identifier; never the value.

    ``header_rows`` (sheet -> 0-based row) lets the screen name the column by its
    header; without it columns are named by their Excel letter.
    """
    known = {f for sheet in source.sheets for col in sheet.columns for f in col.folded_names}
    problems: list[Problem] = []
    for sheet_name, grid in grids.items():
        header_idx = (header_rows or {}).get(sheet_name)
        header = list(grid[header_idx]) if header_idx is not None and header_idx < len(grid) else []
        flagged: dict[int, tuple[str, list[int]]] = {}
        limit = header_idx if header_idx is not None else 30
        for r, row in enumerate(grid[:limit + 1]):      # title and header rows: cell by cell
            for c, value in enumerate(row):
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


def _screen_values(grid: Sequence[Sequence[object]], start: int, flagged: dict[int, tuple[str, list[int]]]) -> None:
    """Below the header zone only values count: ``value_kind`` once per distinct value per column.

    A column repeats few values (quarters, areas, ja/nee, dates), so this does the same
    checks as cell by cell at a fraction of the cost. Values that compare equal (1, 1.0,
    True) share one set entry; ``value_kind`` gives them the same answer, so nothing is
    missed. Flagged rows are collected in row order, as the cell-by-cell loop did.
    """
    body = grid[start:]
    if not body:
        return
    with gc_paused():                   # transposing makes one iterator per row: no cycles
        columns = list(zip_longest(*body))
    for c, column in enumerate(columns):
        kinds = {v: kind for v in set(column) if (kind := value_kind(v))}
        if not kinds:
            continue
        for i, v in enumerate(column):
            kind = kinds.get(v)
            if kind:
                flagged.setdefault(c, (f"waarden die op een {kind} lijken", []))[1].append(start + i + 1)


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
