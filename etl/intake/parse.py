"""Value parsers for partner cells: tolerant of what people type, strict about meaning.

Every parser returns a ``Parsed`` value or raises ``ParseError`` with a Dutch
explanation; it never guesses silently. Suppressed counts (``<5``) are not an error:
they parse to missing with ``suppressed=True``. Text that says "unknown" (``n.v.t.``,
``-``, ``onbekend``, ``?``, ...) in a count, number, ja/nee or date cell parses to
missing with ``marker`` set to the text, so that the reader can name the cell in a
warning: it is never read as 0 and never silently.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from etl.core.quarters import quarter_of
from etl.core.reference import gemeente_lookup, wijk_lookup
from etl.core.sources import fold


class ParseError(ValueError):
    """A cell that cannot be read; ``args[0]`` is a Dutch description of what was found."""


@dataclass(frozen=True)
class Parsed:
    value: object
    suppressed: bool = False
    marker: str | None = None      # the "unknown" text found (n.v.t., -, ?), when the value is missing because of it


MISSING = Parsed(None)
SUPPRESSED = Parsed(None, suppressed=True)

#: Text that means "not known / not applicable" (folded: lower case, spaces collapsed).
#: In count, number, ja/nee and date cells it reads as unknown with a warning naming the
#: cell (``Parsed.marker``); in key and text columns it reads as empty (the not-null
#: checks then say so). ``geen`` is here, not 0: "geen" may mean "none" or "no data", and
#: the warning asks the partner to type 0 if there were none.
UNKNOWN_MARKERS = frozenset({
    "-", "--", "---", "\u2013", "\u2014", ".", "?", "??", "???",
    "n.v.t.", "n.v.t", "nvt", "nvt.", "n v t", "n/a", "na", "n.a.",
    "onbekend", "onb", "onb.", "niet bekend", "nb", "n.b.", "n.b", "geen gegevens", "geen",
})
_EMPTY_TEXT = {""} | UNKNOWN_MARKERS
_SUPPRESSED_RE = re.compile(r"^<\s*5$")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def unknown_marker(raw: object) -> str | None:
    """The text as typed when ``raw`` is one of the ``UNKNOWN_MARKERS``, else None."""
    if isinstance(raw, str):
        text = " ".join(raw.strip().lower().split())
        if text in UNKNOWN_MARKERS:
            return raw.strip()
    return None


def is_empty(raw: object) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip().lower() in _EMPTY_TEXT


# --- periode -----------------------------------------------------------------------

_PERIODE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})\s*[-/ ]?\s*[qk]\s*(?P<q>[1-4])$"),          # 2024-Q3, 2024 Q3, 2024K3, 2024Q3
    re.compile(r"^[qk]\s*(?P<q>[1-4])\s*[-/ ]?\s*(?P<y>\d{4})$"),          # Q3 2024, K3-2024
    re.compile(r"^(?P<q>[1-4])\s*(?:e|ste|de)?\s*kwartaal\s*(?P<y>\d{4})$"),  # 3e kwartaal 2024
    re.compile(r"^kwartaal\s*(?P<q>[1-4])\s*(?P<y>\d{4})$"),               # kwartaal 3 2024
    re.compile(r"^(?P<y>\d{4})\s*kwartaal\s*(?P<q>[1-4])$"),               # 2024 kwartaal 3
]


def parse_periode(raw: object) -> Parsed:
    """``2024-Q3``, ``Q3 2024``, ``2024K3``, ``3e kwartaal 2024`` or a date inside the quarter."""
    if is_empty(raw):
        return MISSING
    if isinstance(raw, dt.datetime):
        return Parsed(quarter_of(raw.date()))
    if isinstance(raw, dt.date):
        return Parsed(quarter_of(raw))
    text = " ".join(str(raw).strip().lower().split())
    for pat in _PERIODE_PATTERNS:
        m = pat.match(text)
        if m:
            return Parsed(f"{m.group('y')}Q{m.group('q')}")
    try:
        return Parsed(quarter_of(_parse_date_text(text)))
    except ParseError:
        pass
    raise ParseError("geen herkenbaar kwartaal")


# --- counts and numbers ------------------------------------------------------------

_DUTCH_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(\.\d{3})+$")     # 1.234 (not 0.015: no group starts with 0)
_PLAIN_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+([.,]\d+)?$")


def _number_from_text(text: str) -> float:
    t = text.replace("\u00a0", "").replace(" ", "")
    if len(t) > 30:                      # int() refuses > 4300 digits with ValueError; no count is this long
        raise ParseError("een te lang getal")
    if _PLAIN_INT.match(t):
        return float(int(t))
    if _DUTCH_THOUSANDS.match(t):
        return float(int(t.replace(".", "")))
    if re.match(r"^-?[1-9]\d{0,2}(\.\d{3})+,\d+$", t):   # 1.234,5
        return float(t.replace(".", "").replace(",", "."))
    if _DECIMAL.match(t):
        return float(t.replace(",", "."))
    raise ParseError("geen getal")


def _not_a_number(raw: object) -> Parsed | None:
    """What a count or number cell holds when it holds no number: ``<5``, an unknown-marker, empty."""
    if isinstance(raw, str) and _SUPPRESSED_RE.match(raw.strip()):
        return SUPPRESSED
    if (marker := unknown_marker(raw)) is not None:
        return Parsed(None, marker=marker)
    if is_empty(raw):
        return MISSING
    return None


def parse_count(raw: object) -> Parsed:
    """A whole number; ``"1.234"`` is one thousand two hundred thirty-four (Dutch dot).

    Negative numbers parse (the expectation suite reports them, with the row), but a
    fraction is a reading error: counts of people are whole.
    """
    if (early := _not_a_number(raw)) is not None:
        return early
    if isinstance(raw, bool):
        raise ParseError("ja/nee in plaats van een aantal")
    if isinstance(raw, int):
        return Parsed(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ParseError("geen getal")
        if raw != int(raw):
            raise ParseError("een getal met decimalen, een aantal moet een heel getal zijn")
        return Parsed(int(raw))
    if isinstance(raw, dt.date | dt.time | dt.timedelta):
        raise ParseError("een datum in plaats van een aantal")
    value = _number_from_text(str(raw).strip())
    if value != int(value):
        raise ParseError("een getal met decimalen, een aantal moet een heel getal zijn")
    return Parsed(int(value))


def parse_number(raw: object) -> Parsed:
    """A number that may have a fraction (average stay in days): ``12,5`` or ``12.5``."""
    if (early := _not_a_number(raw)) is not None:
        return early
    if isinstance(raw, bool):
        raise ParseError("ja/nee in plaats van een getal")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise ParseError("geen getal")
        return Parsed(float(raw))
    if isinstance(raw, dt.date | dt.time | dt.timedelta):
        raise ParseError("een datum in plaats van een getal")
    return Parsed(_number_from_text(str(raw).strip()))


# --- booleans ----------------------------------------------------------------------

_TRUE = {"ja", "j", "yes", "y", "1", "waar", "true", "x"}
_FALSE = {"nee", "n", "no", "0", "onwaar", "false"}


def parse_bool(raw: object) -> Parsed:
    if isinstance(raw, str) and raw.strip().lower() == "x":     # a cross in a ja/nee column is "ja"
        return Parsed(True)
    if (marker := unknown_marker(raw)) is not None:
        return Parsed(None, marker=marker)
    if is_empty(raw):
        return MISSING
    if isinstance(raw, bool):
        return Parsed(raw)
    if isinstance(raw, int | float) and raw in (0, 1):
        return Parsed(bool(raw))
    text = str(raw).strip().lower()
    if text in _TRUE:
        return Parsed(True)
    if text in _FALSE:
        return Parsed(False)
    raise ParseError("geen ja of nee")


# --- dates -------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _parse_date_text(text: str) -> dt.date:
    text = text.strip()
    if " " in text:                      # "2024-03-01 00:00:00"
        head, _, tail = text.partition(" ")
        if re.match(r"^\d{1,2}:\d{2}(:\d{2})?$", tail):
            text = head
    try:
        m = _DMY.match(text)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = _YMD.match(text)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ParseError("een datum die niet bestaat") from exc
    raise ParseError("geen datum (verwacht dd-mm-jjjj of een Excel-datum)")


def parse_date(raw: object) -> Parsed:
    if (marker := unknown_marker(raw)) is not None:
        return Parsed(None, marker=marker)
    if is_empty(raw):
        return MISSING
    if isinstance(raw, dt.datetime):
        return Parsed(raw.date())
    if isinstance(raw, dt.date):
        return Parsed(raw)
    if isinstance(raw, bool):
        raise ParseError("ja/nee in plaats van een datum")
    if isinstance(raw, int | float):
        # A date cell formatted as a number still holds the Excel serial day.
        if 20000 <= raw <= 80000 and raw == int(raw):
            return Parsed(_EXCEL_EPOCH + dt.timedelta(days=int(raw)))
        raise ParseError("een getal in plaats van een datum")
    return Parsed(_parse_date_text(str(raw)))


# --- areas -------------------------------------------------------------------------


def parse_gemeente(raw: object) -> Parsed:
    """Name, ``Gemeente X``, CBS code (``GM0014`` or ``14``) or pre-merger name -> current code.

    An unknown name is returned as text (not an error here): the expectation suite
    reports it as not in the region, with the row, in one place.
    """
    if is_empty(raw):
        return MISSING
    if isinstance(raw, float) and raw.is_integer():      # (inf and nan are not: int() would raise)
        raw = int(raw)
    key = fold(raw)
    hit = gemeente_lookup().get(key)
    for prefix in ("gemeente ", "gem "):
        if hit is None and key.startswith(prefix):
            hit = gemeente_lookup().get(key.removeprefix(prefix))
    code = _GM_CODE.match(key)              # 14, 0014, GM14, GM0014, gm 0014
    if hit is None and code:
        hit = gemeente_lookup().get(str(int(code.group(1))))
    return Parsed(hit if hit else str(raw).strip())


_GM_CODE = re.compile(r"^(?:gm ?)?(\d{1,4})$")


def parse_wijk(raw: object) -> Parsed:
    if is_empty(raw):
        return MISSING
    key = fold(raw)
    hit = wijk_lookup().get(key)
    if hit is None and key.startswith("wij "):
        hit = wijk_lookup().get(key.removeprefix("wij "))
    return Parsed(hit if hit else str(raw).strip())


def parse_enum(raw: object, allowed: tuple[str, ...]) -> Parsed:
    if is_empty(raw):
        return MISSING
    by_fold = {fold(a): a for a in allowed}
    text = str(raw).strip()
    return Parsed(by_fold.get(fold(text), text))


def parse_text(raw: object) -> Parsed:
    if is_empty(raw):
        return MISSING
    if isinstance(raw, float) and raw.is_integer():      # (inf and nan are not: int() would raise)
        raw = int(raw)
    return Parsed(str(raw).strip())


def parse_texts(raw: Sequence[object]) -> list[object]:
    """``parse_text(v).value`` for every value of a column.

    An id or free-text column is mostly unique values (a 200k-row WIJ file has 200k casus
    ids), so the common case, a text, is done inline: no call and no ``Parsed`` per value."""
    empty = _EMPTY_TEXT
    if set(map(type, raw)) == {str}:               # all texts: C-level passes, a loop only if one is "empty"
        stripped = list(map(str.strip, raw))
        if not set(map(str.lower, stripped)) & empty:
            return stripped
        return [None if s.lower() in empty else s for s in stripped]
    out: list[object] = [None] * len(raw)
    for i, v in enumerate(raw):
        if type(v) is str:
            s = v.strip()
            if s.lower() not in empty:
                out[i] = s
        elif v is not None:
            out[i] = parse_text(v).value
    return out


def parser_for(col_type: str, allowed: tuple[str, ...] = ()):
    """The parser for a column type of ``include/sources.yaml``."""
    if col_type == "enum":
        return lambda raw: parse_enum(raw, allowed)
    return {
        "periode": parse_periode,
        "gemeente": parse_gemeente,
        "wijk": parse_wijk,
        "count": parse_count,
        "number": parse_number,
        "bool": parse_bool,
        "date": parse_date,
        "id": parse_text,
        "text": parse_text,
    }[col_type]
