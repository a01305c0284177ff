"""Row lists in provenance records: compact ranges, exact both ways."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etl.intake.provenance import format_rows, parse_rows


def _plain(rows: list[int]) -> str:
    """The obvious way: sorted unique rows, consecutive runs as a-b."""
    out, rows = [], sorted(set(rows))
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        out.append(str(rows[i]) if i == j else f"{rows[i]}-{rows[j]}")
        i = j + 1
    return ",".join(out)


@given(st.lists(st.integers(1, 400), max_size=60))
def test_format_rows_is_the_plain_ranges_and_parses_back(rows):
    text = format_rows(rows)
    assert text == _plain(rows)
    assert parse_rows(text) == sorted(set(rows))


def test_format_rows_of_many_scattered_rows():
    rows = list(range(5, 400_000, 2)) + [400_001, 400_002, 400_003]
    text = format_rows(rows)
    assert text.endswith(",399999,400001-400003") and parse_rows(text) == rows
