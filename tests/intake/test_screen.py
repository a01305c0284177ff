"""The vectorised personal-data screen gives exactly the answers of the cell-by-cell rules.

``value_kind`` is the rule for one cell; the screen applies it per distinct value, with
numbers through ``bsn_mask`` (array arithmetic) and texts pre-filtered by one Arrow
regex. These tests compare both ways on generated values, and screen a real workbook
read by fastexcel (column grids) against the same rows as plain lists.
"""

from __future__ import annotations

import random

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.core.sources import get_source
from etl.intake.grid import as_grid
from etl.intake.read import load_grids, load_sheets_for, locate
from etl.intake.screen import bsn_eleven_test, bsn_mask, distinct_kinds, screen_grids, value_kind


def _valid_bsn(rng: random.Random) -> int:
    while True:
        n = rng.randrange(10_000_000, 999_999_999)
        if bsn_eleven_test(str(n).zfill(9)):
            return n


def test_bsn_mask_is_the_eleven_test_of_value_kind():
    rng = random.Random(11)
    values = [_valid_bsn(rng) for _ in range(300)] + [rng.randrange(0, 2_000_000_000) for _ in range(3000)]
    values += [-v for v in values[:50]] + [v + 0.5 for v in values[:50]] + [0, 9_999_999, 10_000_000, 999_999_999, 1e12]
    floats = np.array(values, dtype=np.float64)
    expected = [value_kind(float(v)) == "burgerservicenummer" for v in values]
    assert sum(expected) >= 300                       # the generated valid numbers are really flagged
    assert bsn_mask(floats).tolist() == expected
    assert not bsn_mask(np.array([np.nan, np.inf, -np.inf])).any()


def _texts(rng: random.Random) -> list[str]:
    bsn = str(_valid_bsn(rng)).zfill(9)
    return [
        f"{bsn[:3]}.{bsn[3:6]}.{bsn[6:]}", f"{bsn[:4]}   {bsn[4:]}", bsn, "jan.jansen@example.nl", "mail: a@b.nl",
        "06-12345678", "+31 6 12345678", "050 1234567", "0031 50 123 4567", "9712 AB 12", "9712AB, 3", "9712AB-12",
        "C-9876AB05", "C-020B768E", "2024-Q3", "Paddepoel", "1234567", "12 345 67", "tel 0501234567 (kantoor)",
        "postcode 9712 AB", "x" * 40, "Totaal regio", "2023-05-20 00:00:00", "ab@cd", "1234 ab 12",
    ] + ["".join(rng.choice("0123456789 -.@ABCDEFabc,+") for _ in range(rng.randrange(6, 18))) for _ in range(4000)]


def test_distinct_kinds_agrees_with_value_kind_on_every_value():
    rng = random.Random(7)
    values: list[object] = _texts(rng) + [_valid_bsn(rng) for _ in range(20)] + [1.0, 2.5, True, False, 12345678.0]
    got = distinct_kinds(values)
    expected = {i: k for i, v in enumerate(values) if (k := value_kind(v))}
    assert expected, "the generated values hold identifiers"
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("0123456789 @,-ABXZabc\n\t\u00a0\x00"), max_size=24), max_size=12))
def test_one_regex_pass_over_joined_texts_finds_what_a_search_per_text_finds(texts):
    from etl.intake.screen import _TEXT_CANDIDATE, _text_candidates

    assert _text_candidates(texts) == [j for j, t in enumerate(texts) if _TEXT_CANDIDATE.search(t)]


def test_the_joined_pass_on_a_column_of_casus_ids():
    """The 200k-row case: mostly ids that are no candidate, a few planted that are."""
    from etl.intake.screen import _TEXT_CANDIDATE, _text_candidates

    rng = random.Random(3)
    texts = [f"C-{rng.randrange(16**8):08X}" for _ in range(20_000)]
    for j in (0, 777, 19_999):
        texts[j] = rng.choice(["bel 0612345678 na 5 uur", "a@b.nl", "Kerkstraat 1, 9711 AB 12", "9711AB-3"])
    found = _text_candidates(texts)
    assert found == [j for j, t in enumerate(texts) if _TEXT_CANDIDATE.search(t)]
    assert {0, 777, 19_999} <= set(found)


def _workbook(path, rng: random.Random) -> None:
    """A WIJ-shaped workbook: title rows, header on row 3, a large typed body with a few identifiers planted."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Casussen"
    ws.append(["WIJ casussen 2024-Q4"])
    ws.append([])
    ws.append(["periode", "casus_id", "wijk", "aantal_kinderen", "opmerking"])
    for i in range(3000):
        note = "geen"
        if i == 1200:
            note = "bel 06-12345678"
        if i == 2500:
            note = "jan@example.nl"
        kids = _valid_bsn(rng) if i in (10, 2999) else rng.randrange(0, 5)
        ws.append(["2024-Q4", f"C-{i:08X}", "Paddepoel", kids, note])
    hidden = wb.create_sheet("Extra")
    hidden.sheet_state = "hidden"
    hidden.append(["naam", "telefoonnummer"])
    hidden.append(["A. de Vries", "050-1234567"])
    wb.save(path)


def test_screen_on_fastexcel_columns_equals_the_screen_on_plain_rows(tmp_path):
    path = tmp_path / "wij.xlsx"
    _workbook(path, random.Random(3))
    source = get_source("wij")
    located = locate(load_sheets_for(path, source), source)
    assert located.grids["Casussen"].reader == "fastexcel"       # the large sheet really went through Arrow
    on_columns = screen_grids(located.grids, source, located.header_rows())
    plain = load_grids(path)
    on_rows = screen_grids({n: [list(r) for r in g] for n, g in plain.items()}, source, locate(plain, source).header_rows())
    assert [p.to_dict() for p in on_columns] == [p.to_dict() for p in on_rows]
    flagged = {(p.sheet, p.column): p.rows for p in on_columns}
    assert flagged[("Casussen", "D ('aantal_kinderen')")] == (14, 3003)       # Excel rows of the two BSNs
    assert flagged[("Casussen", "E ('opmerking')")] == (1204, 2504)                       # phone and e-mail in a free-text column
    assert flagged[("Extra", "A")] == (1,) and flagged[("Extra", "B")] == (1, 2)   # hidden, unknown sheet: header word and phone
    # No value ever reaches a problem: only sheet, column and rows.
    assert not any("12345678" in str(p.to_dict()) or "example.nl" in str(p.to_dict()) for p in on_columns)


@pytest.mark.parametrize("rows", [
    [["periode", "gemeente"], ["2024-Q3", 123456782], ["2024-Q3", "123-456-782"]],
    [["x"], [True], [1.0], [1], ["1"]],
    [[None, "", "a@b.nl"], [], ["9712 AB 1"]],
])
def test_list_grids_and_column_grids_screen_alike(rows):
    source = get_source("veilig_thuis")
    as_lists = screen_grids({"Blad1": rows}, source, {"Blad1": 0})
    as_columns = screen_grids({"Blad1": as_grid(rows)}, source, {"Blad1": 0})
    assert [p.to_dict() for p in as_lists] == [p.to_dict() for p in as_columns]
