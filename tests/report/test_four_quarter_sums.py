"""Four-quarter sums (etl.report.protect.protect_sums): judged on their own size, consistent with
the quarterly tables already published (issue 13, "over-suppression in the four-quarter funnel").

Each test builds four real quarterly views with ``etl.report.disclosure.suppress`` (a region
total over three wijken per quarter) and checks the sums against an independent rank test
over the union of all published equations: no hidden quarterly cell may become exact.
"""

from __future__ import annotations

import itertools

from etl.report.disclosure import Constraint, Shown, suppress
from etl.report.protect import QuarterView, protect_sums, sum_hidden_reason
from tests.report.test_disclosure import linear_leaks

QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
UNITS = [("wij", "wijk", w) for w in ("A", "B", "C")]
CITY = ("wij", "gemeente", "GM0014")
IND = "casussen_afgesloten"


def views(values: dict[str, list[int]]) -> list[QuarterView]:
    """Quarter views: per quarter the wijk counts ``values[wijk][q]`` and their city total."""
    out = []
    for q, periode in enumerate(QUARTERS):
        counts = {(*u, IND): float(values[u[2]][q]) for u in UNITS}
        total = (*CITY, IND)
        counts[total] = sum(counts.values())
        cons = [Constraint(total, tuple((*u, IND) for u in UNITS))]
        cells = suppress(counts, cons)
        out.append(QuarterView(periode, cells, {}, cons, frozenset(counts)))
    return out


def sums(vs: list[QuarterView]) -> dict:
    return protect_sums(vs, [*UNITS, CITY], [IND], {CITY: UNITS})


def published_leaks(vs: list[QuarterView], result: dict) -> list:
    """Hidden cells (quarterly or sum) that the quarterly tables plus the shown sums pin down."""
    cells: dict = {}
    cons: list[Constraint] = []
    for v in vs:
        for k in v.count_keys:
            cells[(v.periode, *k)] = v.cells[k]
        cons += [Constraint((v.periode, *c.total), tuple((v.periode, *p) for p in c.parts)) for c in v.constraints]
    for k, s in result.items():
        cells[("som", *k)] = s
        cons.append(Constraint(("som", *k), tuple((q, *k) for q in QUARTERS)))
    cons.append(Constraint(("som", *CITY, IND), tuple(("som", *u, IND) for u in UNITS)))
    return linear_leaks(cells, cons)


def test_a_large_sum_is_shown_although_an_earlier_quarter_is_hidden_elsewhere():
    # A is <5 in Q1 and B is hidden with it (secondary); showing A's sum would give A's Q1
    # back (sum minus the three shown quarters), so it stays hidden and says why. C never
    # had a hidden quarter and is shown.
    vs = views({"A": [3, 10, 11, 9], "B": [12, 10, 14, 11], "C": [20, 21, 19, 22]})
    assert vs[0].get(*UNITS[0], IND).shown == "<5" and vs[0].get(*UNITS[1], IND).shown == "x"
    result = sums(vs)
    a, b, c = (result[(*u, IND)] for u in UNITS)
    assert a.hidden and "2024Q1" in sum_hidden_reason(vs, (*UNITS[0], IND), a)
    assert c.visible == 82.0  # never hidden: no quarter of C was hidden
    assert not published_leaks(vs, result)


def test_sum_is_judged_on_its_own_size():
    vs = views({"A": [0, 1, 0, 0], "B": [30, 31, 29, 33], "C": [40, 42, 41, 39]})
    result = sums(vs)
    a = result[(*UNITS[0], IND)]
    # The quarter with 1 is <5 and the sum (1) is small itself: <5 on its own merits.
    assert a.shown == "<5" and sum_hidden_reason(vs, (*UNITS[0], IND), a).startswith("het totaal")
    assert result[(*UNITS[2], IND)].visible == 162.0
    assert not published_leaks(vs, result)


def test_old_rule_would_hide_what_the_new_rule_shows():
    """The issue's case: one hidden quarter per wijk in different quarters hid every sum."""
    vs = views({"A": [3, 12, 14, 10], "B": [11, 2, 13, 12], "C": [15, 14, 16, 17]})
    result = sums(vs)
    hidden_quarters = {u[2]: [v.periode for v in vs if v.get(*u, IND).hidden] for u in UNITS}
    assert hidden_quarters["A"] == hidden_quarters["B"] == ["2024Q1", "2024Q2"]  # the old rule hid both sums
    shown = [u[2] for u in UNITS if result[(*u, IND)].visible is not None]
    # Two hidden quarters each, tied only through the city totals: no single one follows.
    assert shown == ["A", "B", "C"]
    assert not published_leaks(vs, result)
    for u in UNITS:
        cell = result[(*u, IND)]
        assert bool(sum_hidden_reason(vs, (*u, IND), cell)) == cell.hidden


def test_two_small_quarters_whose_total_pins_them_keep_the_sum_hidden():
    # A: Q1 = 1 and Q2 = 1 (both <5); sum - visible quarters = 2 = both are 1.
    vs = views({"A": [1, 1, 20, 20], "B": [30, 31, 29, 33], "C": [40, 42, 41, 39]})
    result = sums(vs)
    assert result[(*UNITS[0], IND)].hidden


def test_no_hidden_quarter_ever_leaks_over_many_tables():
    for a, b in itertools.product(range(0, 7), range(0, 7)):
        vs = views({"A": [a, 8, b, 12], "B": [b, a, 9, 14], "C": [25, 24, 26, 20]})
        result = sums(vs)
        assert not published_leaks(vs, result), (a, b)
        assert all(isinstance(s, Shown) for s in result.values())
