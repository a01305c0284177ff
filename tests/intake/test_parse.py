"""Property tests for the cell parsers (etl/intake/parse.py): what people type maps to one meaning.

Each property generates the spellings the contract allows (with random case, spacing
and separators) and checks the normalised value; a last group feeds arbitrary cell
values and checks that a parser either returns a value or raises ``ParseError``,
never anything else (anything else would crash the intake of a whole file).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.core.reference import _rows
from etl.intake.parse import (
    ParseError,
    parse_bool,
    parse_count,
    parse_date,
    parse_gemeente,
    parse_number,
    parse_periode,
    parser_for,
)

settings.register_profile("monitor", max_examples=200, deadline=None)
settings.load_profile("monitor")

years = st.integers(min_value=2000, max_value=2099)
quarters = st.integers(min_value=1, max_value=4)
spaces = st.sampled_from(["", " ", "  ", "\t", "\u00a0"])


def random_case(text: str, flips: list[bool]) -> str:
    return "".join(ch.upper() if flips[i % len(flips)] else ch.lower() for i, ch in enumerate(text)) if flips else text


def _date_in(y: int, q: int, offset: int) -> dt.date:
    start = dt.date(y, 3 * (q - 1) + 1, 1)
    end = dt.date(y + 1, 1, 1) if q == 4 else dt.date(y, 3 * q + 1, 1)
    return start + dt.timedelta(days=offset % (end - start).days)


# --- periode ----------------------------------------------------------------------------

PERIODE_TEMPLATES = ["{y}-Q{q}", "{y} Q{q}", "Q{q} {y}", "{y}K{q}", "{q}e kwartaal {y}", "{y}Q{q}", "K{q} {y}",
                     "{y}-K{q}", "Q{q}-{y}", "{y}/Q{q}", "kwartaal {q} {y}", "{y} kwartaal {q}", "{q}ste kwartaal {y}"]


@given(years, quarters, st.sampled_from(PERIODE_TEMPLATES), st.lists(st.booleans(), max_size=8), spaces, spaces)
def test_periode_every_spelling(y, q, template, flips, before, after):
    text = before + random_case(template.format(y=y, q=q), flips) + after
    got = parse_periode(text).value
    assert got == f"{y}Q{q}"
    assert parse_periode(got).value == got          # the normal form parses to itself


@given(years, quarters, st.integers(min_value=0, max_value=91), st.integers(0, 23), st.integers(0, 59))
def test_periode_any_date_in_the_quarter(y, q, offset, hour, minute):
    d = _date_in(y, q, offset)
    expected = f"{y}Q{q}"
    assert parse_periode(d).value == expected
    assert parse_periode(dt.datetime(d.year, d.month, d.day, hour, minute)).value == expected
    assert parse_periode(f"{d:%d-%m-%Y}").value == expected
    assert parse_periode(f"{d:%Y-%m-%d}").value == expected


@pytest.mark.parametrize("text", ["2024-Q5", "Q0 2024", "2024", "derde kwartaal", "Q3", "31-02-2024", "abc"])
def test_periode_refuses_what_is_not_a_quarter(text):
    with pytest.raises(ParseError):
        parse_periode(text)


# --- counts -----------------------------------------------------------------------------

def dutch(n: int, sep: str = ".") -> str:
    return f"{n:,}".replace(",", sep)


@given(st.integers(min_value=0, max_value=10**12), spaces, spaces)
def test_count_all_spellings(n, before, after):
    assert parse_count(n).value == n
    assert parse_count(float(n)).value == n
    assert parse_count(before + str(n) + after).value == n
    assert parse_count(dutch(n)).value == n
    assert parse_count(dutch(n, "\u00a0")).value == n
    assert parse_count(dutch(n, " ")).value == n
    assert not parse_count(n).suppressed


@given(st.sampled_from(["<5", "< 5", "<  5", " <5 ", "<\u00a05"]))
def test_count_suppressed_by_partner(text):
    p = parse_count(text)
    assert p.value is None and p.suppressed


@given(st.sampled_from([None, "", "  ", "-", "n.v.t.", "N.V.T.", "nvt", "n.v.t", "onbekend", float("nan")]))
def test_count_empty_is_missing_not_zero(raw):
    p = parse_count(raw)
    assert p.value is None and not p.suppressed


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=99))
def test_count_with_a_fraction_is_refused(n, frac):
    # "12.015" would be twelve thousand and fifteen (Dutch thousands dot): not a fraction.
    for raw in (n + frac / 100, f"{n},{frac:02d}", f"{dutch(n)},{frac:02d}", f"{n}.{frac:02d}", f"0.{frac:02d}5"):
        with pytest.raises(ParseError):
            parse_count(raw)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=99))
def test_number_accepts_decimal_comma_and_point(n, frac):
    assert parse_number(f"{n},{frac:02d}").value == pytest.approx(n + frac / 100)
    assert parse_number(f"{n}.{frac:02d}").value == pytest.approx(n + frac / 100)
    assert parse_number(float(n)).value == n


def test_count_refuses_booleans_and_dates():
    for raw in (True, False, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1), "twaalf"):
        with pytest.raises(ParseError):
            parse_count(raw)


# --- booleans ---------------------------------------------------------------------------

TRUE = ["ja", "j", "yes", "y", "1", "waar", "true", "x"]
FALSE = ["nee", "n", "no", "0", "onwaar", "false"]


@given(st.sampled_from([(t, True) for t in TRUE] + [(f, False) for f in FALSE]),
       st.lists(st.booleans(), max_size=6), spaces, spaces)
def test_bool_spellings(pair, flips, before, after):
    text, expected = pair
    assert parse_bool(before + random_case(text, flips) + after).value is expected


def test_bool_native_values_and_missing():
    assert parse_bool(True).value is True and parse_bool(False).value is False
    assert parse_bool(1).value is True and parse_bool(0.0).value is False
    for raw in (None, "", "n.v.t."):
        assert parse_bool(raw).value is None
    for raw in ("misschien", 2, "ja/nee"):
        with pytest.raises(ParseError):
            parse_bool(raw)


# --- dates ------------------------------------------------------------------------------

EXCEL_EPOCH = dt.date(1899, 12, 30)


@given(st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_date_spellings(d):
    assert parse_date(d).value == d
    assert parse_date(dt.datetime(d.year, d.month, d.day, 13, 45)).value == d
    assert parse_date(f"{d:%d-%m-%Y}").value == d
    assert parse_date(f"{d.day}-{d.month}-{d.year}").value == d
    assert parse_date(f"{d:%d/%m/%Y}").value == d
    assert parse_date(f"{d:%Y-%m-%d}").value == d
    assert parse_date(f"{d:%Y-%m-%d} 00:00:00").value == d
    serial = (d - EXCEL_EPOCH).days
    if 20000 <= serial <= 80000:
        assert parse_date(serial).value == d
        assert parse_date(float(serial)).value == d


@pytest.mark.parametrize("text", ["31-02-2024", "2024-13-01", "morgen", "12-2024", "00-01-2024"])
def test_date_refuses_impossible_dates(text):
    with pytest.raises(ParseError):
        parse_date(text)


# --- municipalities ---------------------------------------------------------------------

GEMEENTE_ROWS = _rows("gemeenten.csv")
CURRENT = {r["code"]: r["code"] for r in GEMEENTE_ROWS if r["actueel"] == "ja"}
TARGET = {r["code"]: (r["code"] if r["actueel"] == "ja" else r["opgegaan_in"]) for r in GEMEENTE_ROWS}
NAMES = [(r["naam"], TARGET[r["code"]]) for r in GEMEENTE_ROWS]


@given(st.sampled_from(NAMES), st.lists(st.booleans(), max_size=10), spaces, spaces,
       st.sampled_from(["", "Gemeente ", "gemeente  ", "GEMEENTE ", "Gem. "]), st.sampled_from([" ", "  ", "_"]))
def test_gemeente_names(pair, flips, before, after, prefix, inner):
    name, code = pair
    text = before + prefix + random_case(name, flips).replace(" ", inner) + after
    assert parse_gemeente(text).value == code


@given(st.sampled_from(sorted(TARGET)), st.sampled_from(["GM", "gm", "Gm", "GM ", ""]),
       st.integers(min_value=0, max_value=3), spaces)
def test_gemeente_codes(code, gm, zeros, around):
    digits = str(int(code[2:]))
    text = around + gm + "0" * zeros + digits + around
    if len(digits) + zeros > 4:
        text = around + gm + digits.zfill(4) + around
    assert parse_gemeente(text).value == TARGET[code]
    assert parse_gemeente(int(digits)).value == TARGET[code]
    assert parse_gemeente(float(digits)).value == TARGET[code]


@pytest.mark.parametrize("text", ["Assen", "GM0106", "Drenthe", "1234"])
def test_gemeente_outside_the_region_stays_text(text):
    assert not str(parse_gemeente(text).value).startswith("GM") or parse_gemeente(text).value == text


# --- robustness: any cell value gives a value or a ParseError, never a crash --------------

cells = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=40), st.dates(), st.datetimes(), st.from_regex(r"\A[0-9.,<\s-]{1,30}\Z"),
                  st.integers(min_value=10**20, max_value=10**40).map(str), st.just("9" * 5000))


@pytest.mark.parametrize("col_type", ["periode", "gemeente", "wijk", "count", "number", "bool", "date", "enum", "id", "text"])
@given(raw=cells)
def test_parsers_never_crash(col_type, raw):
    parse = parser_for(col_type, ("partnergeweld", "overig"))
    try:
        parse(raw)
    except ParseError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["n.v.t.", " NVT ", "-", "?", " ", "onbekend"]),
                          st.integers(-5, 10**10), st.floats(allow_nan=False, allow_infinity=False), st.booleans()),
                max_size=20))
def test_parse_texts_is_parse_text_per_value(values):
    from etl.intake.parse import parse_text, parse_texts

    assert parse_texts(values) == [None if v is None else parse_text(v).value for v in values]


@given(st.lists(st.one_of(st.none(), st.text(max_size=10), st.sampled_from(["Totaal", "SOM", "tot.", "Gesamtsumme", "Ätot"]),
                          st.integers(), st.floats(allow_nan=False)), max_size=20))
def test_total_label_candidates_inline_are_the_per_value_ones(values):
    from etl.intake.read import _maybe_total_label, _maybe_total_labels

    assert _maybe_total_labels(values) == [k for k, v in enumerate(values) if _maybe_total_label(v)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=8), st.sampled_from(["n.v.t.", " NVT ", "-", "?", " ", "", "onbekend", " x "])),
                min_size=1, max_size=20))
def test_parse_texts_of_a_column_of_texts_only(values):
    from etl.intake.parse import parse_text, parse_texts

    assert parse_texts(values) == [parse_text(v).value for v in values]
