"""Disclosure control (etl.report.disclosure): primary <5, secondary suppression, derived figures.

The property tests build random tables with margins (the shape of every table in the
workbook) and check, with an implementation of their own, that no hidden cell can be
recomputed: neither from one visible total minus visible cells, nor from all the
table's equations together.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.report.disclosure import (
    DERIVED,
    MISSING,
    PARTNER,
    PRIMARY,
    PRIMARY_TEXT,
    SECONDARY,
    SECONDARY_TEXT,
    Constraint,
    shown_count,
    suppress,
)

# --------------------------------------------------------------------------- helpers


def table(values: list[list[int]]) -> tuple[dict, list[Constraint]]:
    """Cells (r, c) plus row totals (r, 'T'), column totals ('T', c) and the grand total."""
    rows, cols = len(values), len(values[0])
    cells: dict = {}
    for r, c in itertools.product(range(rows), range(cols)):
        cells[(r, c)] = values[r][c]
    for r in range(rows):
        cells[(r, "T")] = sum(values[r])
    for c in range(cols):
        cells[("T", c)] = sum(values[r][c] for r in range(rows))
    cells[("T", "T")] = sum(map(sum, values))
    cons = [Constraint((r, "T"), tuple((r, c) for c in range(cols))) for r in [*range(rows), "T"]]
    cons += [Constraint(("T", c), tuple((r, c) for r in range(rows))) for c in [*range(cols), "T"]]
    return cells, cons


def single_equation_leaks(result, constraints) -> list:
    """Hidden cells that equal a visible total minus visible cells (or a total = sum of visible parts)."""
    leaks = []
    for c in constraints:
        members = (c.total, *c.parts)
        unknown = [k for k in members if result[k].reason is not None]
        if len(unknown) == 1 and result[unknown[0]].hidden:
            leaks.append(unknown[0])
    return leaks


def linear_leaks(result, constraints) -> list:
    """Hidden cells fixed by all equations together: adding e_i does not raise the rank."""
    unknown = [k for k in result if result[k].reason is not None]
    if not unknown:
        return []
    idx = {k: i for i, k in enumerate(unknown)}
    rows = []
    for c in constraints:
        row = np.zeros(len(unknown))
        for k, sign in ((c.total, 1.0), *((p, -1.0) for p in c.parts)):
            if k in idx:
                row[idx[k]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return []
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    leaks = []
    for k in unknown:
        if not result[k].hidden:
            continue
        e = np.zeros(len(unknown))
        e[idx[k]] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            leaks.append(k)
    return leaks


# --------------------------------------------------------------------------- primary


@pytest.mark.parametrize("value, shown, reason", [
    (0, 0.0, None), (1, PRIMARY_TEXT, PRIMARY), (4, PRIMARY_TEXT, PRIMARY), (4.0, PRIMARY_TEXT, PRIMARY),
    (5, 5.0, None), (1234, 1234.0, None), (None, None, MISSING), (float("nan"), None, MISSING),
])
def test_primary_rule(value, shown, reason):
    out = suppress({"a": value})["a"]
    assert out.shown == shown and out.reason == reason
    assert shown_count(value) == shown


def test_partner_suppressed_cell_shows_as_small_count():
    out = suppress({"a": None, "b": 7}, partner={"a"})
    assert out["a"].shown == PRIMARY_TEXT and out["a"].reason == PARTNER and out["a"].hidden
    assert out["b"].shown == 7


def test_a_fraction_is_not_a_count_to_suppress():
    assert suppress({"a": 2.5})["a"].shown == 2.5


# --------------------------------------------------------------------------- secondary


def test_single_suppressed_part_gets_a_partner():
    cells = {"T": 20, "a": 3, "b": 6, "c": 11}
    out = suppress(cells, [Constraint("T", ("a", "b", "c"))])
    assert out["a"].shown == PRIMARY_TEXT
    assert out["b"].shown == SECONDARY_TEXT and out["b"].reason == SECONDARY  # the next-smallest
    assert out["c"].shown == 11 and out["T"].shown == 20


def test_zero_is_never_used_for_secondary_suppression():
    cells = {"T": 20, "a": 2, "b": 0, "c": 18}
    out = suppress(cells, [Constraint("T", ("a", "b", "c"))])
    assert out["b"].shown == 0
    assert out["c"].shown == SECONDARY_TEXT


def test_the_total_is_hidden_only_when_no_part_is_left():
    cells = {"T": 9, "a": 3, "b": 0, "c": 6}
    out = suppress(cells, [Constraint("T", ("a", "b", "c"))])
    assert out["c"].hidden and not out["T"].hidden
    cells = {"T": 3, "a": 3, "b": 0}
    out = suppress(cells, [Constraint("T", ("a", "b"))])
    assert out["T"].hidden and out["a"].hidden and out["b"].shown == 0


def test_two_suppressed_cells_need_no_more():
    cells = {"T": 20, "a": 3, "b": 2, "c": 15}
    out = suppress(cells, [Constraint("T", ("a", "b", "c"))])
    assert [k for k, v in out.items() if v.hidden] == ["a", "b"]


def test_missing_part_protects_like_an_unknown():
    cells = {"T": 20, "a": 3, "b": None, "c": 15}
    out = suppress(cells, [Constraint("T", ("a", "b", "c"))])
    assert out["b"].reason == MISSING and out["c"].shown == 15


def test_margins_of_a_two_way_table():
    cells, cons = table([[2, 10, 7], [8, 12, 3], [15, 9, 20]])
    out = suppress(cells, cons)
    assert not single_equation_leaks(out, cons)
    assert not linear_leaks(out, cons)
    assert out[(0, 0)].shown == PRIMARY_TEXT and out[(1, 2)].shown == PRIMARY_TEXT


def test_combined_equations_are_audited():
    """After the per-equation pass each equation has two unknowns, yet three equations in three
    unknowns (a, b and the secondary p) pin all of them: the audit must hide one more cell."""
    cells = {"a": 3, "b": 4, "p": 10, "T1": 13, "T2": 14, "T3": 7}
    cons = [Constraint("T1", ("a", "p")), Constraint("T2", ("p", "b")), Constraint("T3", ("a", "b"))]
    out = suppress(cells, cons)
    assert out["p"].hidden  # the per-equation pass
    assert sum(out[t].hidden for t in ("T1", "T2", "T3")) >= 1  # the audit
    assert not linear_leaks(out, cons)
    assert not single_equation_leaks(out, cons)


def test_hierarchy_of_subtotals():
    """City = northern + other subtotal = sum of wijken: the WIJ sheet's structure."""
    north, other = {"n1": 3, "n2": 20, "n3": 31}, {"o1": 12, "o2": 14}
    cells = {**north, **other, "N": sum(north.values()), "O": sum(other.values())}
    cells["C"] = cells["N"] + cells["O"]
    cons = [Constraint("N", tuple(north)), Constraint("O", tuple(other)), Constraint("C", ("N", "O")),
            Constraint("C", tuple(north) + tuple(other))]
    out = suppress(cells, cons)
    assert out["n1"].shown == PRIMARY_TEXT
    assert not linear_leaks(out, cons) and not single_equation_leaks(out, cons)


def test_also_hidden_cells_are_protected_too():
    cells = {"T": 40, "a": 12, "b": 13, "c": 15}
    out = suppress(cells, [Constraint("T", ("a", "b", "c"))], also_hidden={"b"})
    assert out["b"].shown == SECONDARY_TEXT
    assert sum(v.hidden for v in out.values()) == 2


def test_derived_figures_follow_their_counts():
    out = suppress({"k": 3, "n": 20, "k2": 12}, derived={"share": (0.15, ("k", "n")), "share2": (0.6, ("k2", "n")),
                                                         "gone": (None, ("n",))})
    assert out["share"].shown == SECONDARY_TEXT and out["share"].reason == DERIVED
    assert out["share2"].shown == 0.6
    assert out["gone"].reason == MISSING


def test_deterministic():
    cells, cons = table([[2, 10, 7, 1], [8, 12, 3, 9], [15, 9, 20, 4]])
    assert suppress(cells, cons) == suppress(dict(cells), list(cons))


def test_unknown_constraint_key_is_an_error():
    with pytest.raises(KeyError):
        suppress({"a": 1}, [Constraint("T", ("a",))])


# --------------------------------------------------------------------------- properties

small_counts = st.one_of(st.integers(0, 4), st.integers(0, 12), st.integers(5, 200))


@st.composite
def tables(draw):
    rows = draw(st.integers(2, 5))
    cols = draw(st.integers(2, 5))
    return [[draw(small_counts) for _ in range(cols)] for _ in range(rows)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_property_no_hidden_cell_can_be_recomputed(values):
    cells, cons = table(values)
    out = suppress(cells, cons)
    # Primary rule and "zero stays 0".
    for k, v in cells.items():
        if 1 <= v <= 4:
            assert out[k].shown == PRIMARY_TEXT
        if v == 0:
            assert out[k].shown == 0
        if not out[k].hidden:
            assert out[k].shown == v
    # No total minus visible cells gives a hidden cell back; nor do all equations together.
    assert single_equation_leaks(out, cons) == []
    assert linear_leaks(out, cons) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.data())
def test_property_with_partner_suppressed_cells(values, data):
    cells, cons = table(values)
    inner = [k for k in cells if "T" not in k]
    partner = set(data.draw(st.lists(st.sampled_from(inner), max_size=2, unique=True)))
    for k in partner:
        cells[k] = None
    # Totals over a partner-suppressed cell are unknown to the pipeline as well.
    for k in list(cells):
        if "T" in k and any(p in partner for c in cons if c.total == k for p in c.parts):
            cells[k] = None
    out = suppress(cells, cons, partner=partner)
    for k in partner:
        assert out[k].shown == PRIMARY_TEXT
    assert single_equation_leaks(out, cons) == []
    assert linear_leaks(out, cons) == []
