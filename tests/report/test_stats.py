"""Tests for etl.report.stats.

Reference values come from published worked examples (Byar, Wilson) or are
computed independently of the implementation (root finding on the Poisson
CDF, pure-Python Poisson/binomial CDFs), never by re-running the same formula.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy import stats as sps

from etl.report import stats
from etl.report.stats import (
    AANDACHTSPUNT,
    GEEN_SIGNIFICANTE_VERANDERING,
    HOGER,
    LAGER,
    LEVEL_GEMEENTE,
    LEVEL_WIJK,
    ONVOLDOENDE_GEGEVENS,
    SIGNAAL,
    VERBETERING,
    VERGELIJKBAAR,
    Signal,
    compare_share_to_reference,
    compare_to_reference,
    funnel_grid,
    funnel_limits_rate,
    funnel_limits_share,
    poisson_interval,
    rate_interval,
    trend_verdict,
    wilson_interval,
    xmr,
)


def rules(result: stats.XmrResult, rule: str) -> list[Signal]:
    return [s for s in result.signals if s.rule == rule]


# ---------------------------------------------------------------------------
# Poisson intervals
# ---------------------------------------------------------------------------


class TestPoissonInterval:
    def test_byar_65_at_95_percent(self) -> None:
        # Reference values from the brief (checked by hand against Byar's formula).
        ci = poisson_interval(65, 0.95)
        assert ci.method == "byar"
        assert round(ci.lower, 2) == 50.16
        assert round(ci.upper, 2) == 82.85
        assert ci.level == 0.95

    def test_byar_65_at_99_8_percent(self) -> None:
        ci = poisson_interval(65, 0.998)
        assert ci.method == "byar"
        assert round(ci.lower, 2) == 42.88
        assert round(ci.upper, 1) == 94.0

    def test_method_switches_at_ten(self) -> None:
        assert poisson_interval(9).method == "exact"
        assert poisson_interval(10).method == "byar"

    @pytest.mark.parametrize("observed", range(10))
    @pytest.mark.parametrize("level", [0.95, 0.998])
    def test_exact_limits_match_poisson_cdf_root_finding(self, observed: int, level: float) -> None:
        # Garwood limits by definition: upper = mu with P(X <= O | mu) = alpha/2,
        # lower = mu with P(X >= O | mu) = alpha/2.  Solved numerically on the
        # Poisson CDF, independent of the chi-square formula in the module.
        alpha = 1 - level
        upper = optimize.brentq(
            lambda mu: sps.poisson.cdf(observed, mu) - alpha / 2, 1e-9, 100, xtol=1e-12
        )
        if observed == 0:
            lower = 0.0
        else:
            lower = optimize.brentq(
                lambda mu: sps.poisson.sf(observed - 1, mu) - alpha / 2, 1e-12, 100, xtol=1e-12
            )
        ci = poisson_interval(observed, level)
        assert ci.method == "exact"
        assert ci.lower == pytest.approx(lower, abs=1e-7)
        assert ci.upper == pytest.approx(upper, rel=1e-7)

    @pytest.mark.parametrize(
        ("observed", "lower", "upper"),
        [(0, 0.0, 3.689), (1, 0.0253, 5.572), (5, 1.6235, 11.668), (9, 4.1153, 17.0848)],
    )
    def test_exact_limits_against_published_table(
        self, observed: int, lower: float, upper: float
    ) -> None:
        # Standard tables of exact 95% Poisson limits (e.g. Geigy Scientific Tables).
        ci = poisson_interval(observed)
        assert ci.lower == pytest.approx(lower, abs=6e-4)
        assert ci.upper == pytest.approx(upper, abs=6e-4)

    def test_accepts_integral_float_and_numpy_int(self) -> None:
        import numpy as np

        assert poisson_interval(65.0) == poisson_interval(65)
        assert poisson_interval(np.int64(7)) == poisson_interval(7)

    @pytest.mark.parametrize("bad", [-1, 2.5, float("nan")])
    def test_rejects_non_counts(self, bad: float) -> None:
        with pytest.raises(ValueError):
            poisson_interval(bad)  # type: ignore[arg-type]

    @pytest.mark.parametrize("level", [0, 1, 95])
    def test_rejects_bad_level(self, level: float) -> None:
        with pytest.raises(ValueError):
            poisson_interval(10, level)


class TestRateInterval:
    def test_scales_count_interval(self) -> None:
        est = rate_interval(65, population=10_000, per=1000)
        assert est.rate == pytest.approx(6.5)
        assert round(est.lower, 3) == 5.016
        assert round(est.upper, 3) == 8.285
        assert est.method == "byar"
        assert est.few_events is False

    def test_per_100_000(self) -> None:
        est = rate_interval(65, population=10_000, per=100_000)
        assert est.rate == pytest.approx(650.0)
        assert round(est.lower, 1) == 501.6

    @pytest.mark.parametrize(("events", "few"), [(0, True), (9, True), (10, False)])
    def test_few_events_flag(self, events: int, few: bool) -> None:
        assert rate_interval(events, 5000).few_events is few

    @pytest.mark.parametrize("population", [0, -10, float("nan")])
    def test_rejects_bad_population(self, population: float) -> None:
        with pytest.raises(ValueError):
            rate_interval(3, population)


# ---------------------------------------------------------------------------
# Wilson
# ---------------------------------------------------------------------------


class TestWilsonInterval:
    def test_20_of_100(self) -> None:
        ci = wilson_interval(20, 100)
        assert ci.method == "wilson"
        assert round(ci.lower * 100, 1) == 13.3
        assert round(ci.upper * 100, 1) == 28.9

    def test_newcombe_example_81_of_263(self) -> None:
        # Newcombe (1998), Table II, example 81/263: 0.2553 to 0.3662.
        ci = wilson_interval(81, 263)
        assert ci.lower == pytest.approx(0.2553, abs=1e-4)
        assert ci.upper == pytest.approx(0.3662, abs=1e-4)

    def test_boundaries_are_exact(self) -> None:
        assert wilson_interval(0, 10).lower == 0.0
        assert wilson_interval(0, 10).upper > 0.2
        assert wilson_interval(10, 10).upper == 1.0
        assert wilson_interval(10, 10).lower < 0.8

    def test_n_zero_raises(self) -> None:
        with pytest.raises(ValueError, match="n must be > 0"):
            wilson_interval(0, 0)

    def test_successes_above_n_raises(self) -> None:
        with pytest.raises(ValueError):
            wilson_interval(11, 10)


# ---------------------------------------------------------------------------
# Comparison with the region
# ---------------------------------------------------------------------------


class TestCompareToReference:
    # 65 events in 10,000 inhabitants: 6.5 per 1000, 95% CI 5.016 - 8.285,
    # 99.8% CI 4.288 - 9.400.
    @pytest.mark.parametrize(
        ("reference", "expected"), [(4.0, HOGER), (9.0, LAGER), (6.0, VERGELIJKBAAR)]
    )
    def test_municipality_level(self, reference: float, expected: str) -> None:
        assert compare_to_reference(65, reference, 10_000, LEVEL_GEMEENTE) == expected

    def test_stricter_level_for_wijken(self) -> None:
        # 4.5 lies below the 95% interval but inside the 99.8% one.
        assert compare_to_reference(65, 4.5, 10_000, level=LEVEL_GEMEENTE) == HOGER
        assert compare_to_reference(65, 4.5, 10_000, level=LEVEL_WIJK) == VERGELIJKBAAR
        assert compare_to_reference(65, 9.2, 10_000, level=LEVEL_GEMEENTE) == LAGER
        assert compare_to_reference(65, 9.2, 10_000, level=LEVEL_WIJK) == VERGELIJKBAAR

    def test_per_parameter(self) -> None:
        assert compare_to_reference(65, 400.0, 10_000, per=100_000) == HOGER
        assert compare_to_reference(65, 400.0, 10_000, per=1000) == LAGER

    def test_zero_events(self) -> None:
        # O = 0: 95% upper limit 3.689 events -> 0.3689 per 1000 in 10,000.
        assert compare_to_reference(0, 0.30, 10_000) == VERGELIJKBAAR
        assert compare_to_reference(0, 0.40, 10_000) == LAGER

    @pytest.mark.parametrize(
        ("reference", "expected"), [(0.10, HOGER), (0.35, LAGER), (0.25, VERGELIJKBAAR)]
    )
    def test_share(self, reference: float, expected: str) -> None:
        # 20/100: Wilson 95% CI 13.3% - 28.9%.
        assert compare_share_to_reference(20, 100, reference) == expected

    def test_share_level(self) -> None:
        # 99.8% Wilson CI for 20/100 is roughly 11.1% - 33.2%.
        assert compare_share_to_reference(20, 100, 0.12, level=LEVEL_GEMEENTE) == HOGER
        assert compare_share_to_reference(20, 100, 0.12, level=LEVEL_WIJK) == VERGELIJKBAAR

    def test_share_rejects_bad_reference(self) -> None:
        with pytest.raises(ValueError):
            compare_share_to_reference(20, 100, 20.0)


# ---------------------------------------------------------------------------
# XmR
# ---------------------------------------------------------------------------

CALM = [10.0, 11.0] * 10  # mean 10.5, moving ranges of 1


class TestXmrLimits:
    def test_mr_exclusion_changes_limits(self) -> None:
        # Ten moving ranges of 2, then one of x.  The initial MR-bar is
        # (20 + x) / 11; x is excluded when x > 3.267 (20 + x) / 11, i.e.
        # when x > 8.4496.
        base = [10.0, 12.0] * 5 + [10.0]
        kept = xmr(base + [10.0 + 8.4])
        dropped = xmr(base + [10.0 + 8.5])

        assert kept.excluded_moving_ranges == ()
        assert kept.mean_moving_range == pytest.approx(28.4 / 11)
        assert kept.mean_moving_range_initial == kept.mean_moving_range

        assert dropped.excluded_moving_ranges == (11,)
        assert dropped.mean_moving_range_initial == pytest.approx(28.5 / 11)
        assert dropped.mean_moving_range == pytest.approx(2.0)

        mean = (120 + 18.5) / 12
        assert dropped.mean == pytest.approx(mean)
        assert dropped.upper_process_limit == pytest.approx(mean + 2.66 * 2.0)
        assert dropped.lower_process_limit == pytest.approx(mean - 2.66 * 2.0)
        assert dropped.upper_near_limit == pytest.approx(mean + 1.773 * 2.0)
        assert dropped.lower_near_limit == pytest.approx(mean - 1.773 * 2.0)
        # Without the exclusion the limits would have been wider.
        assert dropped.upper_process_limit < mean + 2.66 * (28.5 / 11)

    def test_provisional_below_twelve_points(self) -> None:
        assert xmr(CALM[:11]).provisional is True
        assert xmr(CALM[:12]).provisional is False
        # Missing values do not count as points.
        assert xmr(CALM[:11] + [None]).provisional is True

    def test_fewer_than_two_points(self) -> None:
        for series, mean in (([], None), ([5.0], 5.0), ([None, 5.0, float("nan")], 5.0)):
            result = xmr(series)
            assert result.mean == mean
            assert result.mean_moving_range is None
            assert result.upper_process_limit is None
            assert result.lower_near_limit is None
            assert result.signals == ()
            assert result.has_limits is False
            assert len(result.values) == len(series)

    def test_missing_values_keep_position(self) -> None:
        result = xmr([None, 10.0, float("nan"), 13.0, 11.0, None])
        assert result.values == (None, 10.0, None, 13.0, 11.0, None)
        assert result.n_points == 3
        assert result.mean == pytest.approx(34 / 3)
        # MR across the gap: |13 - 10|.
        assert result.moving_ranges == (None, None, None, 3.0, 2.0, None)
        assert result.mean_moving_range == pytest.approx(2.5)
        assert result.latest_index == 4

    def test_pandas_na_is_missing(self) -> None:
        pd = pytest.importorskip("pandas")
        result = xmr(pd.Series([1.0, None, 3.0, 2.0], dtype="Float64"))
        assert result.values == (1.0, None, 3.0, 2.0)


class TestXmrRuleA:
    def test_point_outside_upper_limit(self) -> None:
        result = xmr(CALM + [14.0] + [10.0, 11.0] * 2)
        assert result.upper_process_limit is not None
        assert 14.0 > result.upper_process_limit
        assert rules(result, "outside_limits") == [Signal("outside_limits", "up", (20,))]

    def test_point_just_inside_upper_limit(self) -> None:
        result = xmr(CALM + [13.5] + [10.0, 11.0] * 2)
        assert result.upper_process_limit is not None
        assert 13.5 < result.upper_process_limit < 13.8
        assert rules(result, "outside_limits") == []

    def test_point_outside_lower_limit(self) -> None:
        result = xmr([-v for v in CALM + [14.0] + [10.0, 11.0] * 2])
        assert rules(result, "outside_limits") == [Signal("outside_limits", "down", (20,))]


class TestXmrRuleB:
    ALT = [14.0, 10.0] * 3  # ends below the mean so it cannot extend a run
    AFTER = [10.0, 14.0] * 3  # starts below the mean

    def test_seven_in_a_row_above_mean(self) -> None:
        result = xmr(self.ALT + [12.5] * 7 + self.AFTER)
        assert rules(result, "run") == [Signal("run", "up", tuple(range(6, 13)))]

    def test_six_in_a_row_is_not_a_run(self) -> None:
        result = xmr(self.ALT + [12.5] * 6 + self.AFTER)
        assert rules(result, "run") == []

    def test_seven_in_a_row_below_mean(self) -> None:
        result = xmr([-v for v in self.ALT + [12.5] * 7 + self.AFTER])
        assert rules(result, "run") == [Signal("run", "down", tuple(range(6, 13)))]

    def test_missing_value_inside_run_is_skipped(self) -> None:
        series: list[float | None] = self.ALT + [12.5] * 3 + [None] + [12.5] * 4 + self.AFTER
        result = xmr(series)
        assert rules(result, "run") == [Signal("run", "up", (6, 7, 8, 10, 11, 12, 13))]

    @pytest.mark.parametrize("scale", [1.0, 0.1])
    def test_point_on_mean_breaks_run(self, scale: float) -> None:
        # Mean is exactly 12 (x scale); the 12s sit on the mean.  scale=0.1
        # checks that float rounding of the mean does not move it off the line.
        broken = [13, 13, 13, 12, 13, 13, 13, 11, 11, 11, 12, 11, 11, 11]
        unbroken = [13] * 7 + [11] * 7
        assert rules(xmr([v * scale for v in broken]), "run") == []
        runs = rules(xmr([v * scale for v in unbroken]), "run")
        assert [(s.direction, s.indices) for s in runs] == [
            ("up", tuple(range(7))),
            ("down", tuple(range(7, 14))),
        ]


class TestXmrRuleC:
    BEFORE = [8.0, 12.0] * 3  # ends high, so the trend starts fresh
    AFTER = [8.0, 12.0] * 3

    def test_seven_increasing(self) -> None:
        trend = [8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5]
        result = xmr(self.BEFORE + trend + self.AFTER)
        assert rules(result, "trend") == [Signal("trend", "up", tuple(range(6, 13)))]

    def test_six_increasing_is_not_a_trend(self) -> None:
        trend = [8.5, 9.0, 9.5, 10.0, 10.5, 11.0]
        result = xmr(self.BEFORE + trend + self.AFTER)
        assert rules(result, "trend") == []

    def test_seven_decreasing(self) -> None:
        trend = [8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5]
        result = xmr([-v for v in self.BEFORE + trend + self.AFTER])
        assert rules(result, "trend") == [Signal("trend", "down", tuple(range(6, 13)))]

    def test_equal_neighbours_break_the_trend(self) -> None:
        trend = [8.5, 9.0, 9.5, 9.5, 10.0, 10.5, 11.0, 11.5]
        result = xmr(self.BEFORE + trend + self.AFTER)
        assert rules(result, "trend") == []


class TestXmrRuleD:
    def test_two_of_three_beyond_upper_near_line(self) -> None:
        result = xmr(CALM + [13.0, 11.0, 13.0] + [10.0, 11.0] * 2)
        assert result.upper_near_limit is not None and result.upper_process_limit is not None
        assert result.upper_near_limit < 13.0 < result.upper_process_limit
        assert rules(result, "outside_limits") == []
        assert rules(result, "two_of_three") == [Signal("two_of_three", "up", (20, 22))]

    def test_one_of_three_is_not_a_signal(self) -> None:
        # The same two high points, now three positions apart.
        result = xmr(CALM + [13.0, 11.0, 10.0, 13.0] + [10.0, 11.0] * 2)
        assert result.upper_near_limit is not None
        assert result.upper_near_limit < 13.0
        assert rules(result, "two_of_three") == []

    def test_two_of_three_below_lower_near_line(self) -> None:
        result = xmr([-v for v in CALM + [13.0, 11.0, 13.0] + [10.0, 11.0] * 2])
        assert rules(result, "two_of_three") == [Signal("two_of_three", "down", (20, 22))]

    def test_opposite_sides_do_not_combine(self) -> None:
        result = xmr(CALM + [13.0, 8.0, 11.0] + [10.0, 11.0] * 2)
        assert result.upper_near_limit is not None and result.lower_near_limit is not None
        assert 13.0 > result.upper_near_limit and 8.0 < result.lower_near_limit
        assert rules(result, "two_of_three") == []


# ---------------------------------------------------------------------------
# Trend verdict
# ---------------------------------------------------------------------------

RUN_UP_AT_END = [14.0, 10.0] * 3 + [12.5] * 7
RUN_DOWN_AT_END = [-v for v in RUN_UP_AT_END]


class TestTrendVerdict:
    @pytest.mark.parametrize(
        ("series", "direction", "expected"),
        [
            (RUN_UP_AT_END, "hoger_is_beter", VERBETERING),
            (RUN_UP_AT_END, "lager_is_beter", AANDACHTSPUNT),
            (RUN_UP_AT_END, "neutraal", SIGNAAL),
            (RUN_DOWN_AT_END, "hoger_is_beter", AANDACHTSPUNT),
            (RUN_DOWN_AT_END, "lager_is_beter", VERBETERING),
            (RUN_DOWN_AT_END, "neutraal", SIGNAAL),
        ],
    )
    def test_mapping(self, series: list[float], direction: str, expected: str) -> None:
        result = xmr(series)
        assert result.signals_involving(len(series) - 1)  # precondition
        assert trend_verdict(result, direction) == expected

    def test_rising_trend_at_end(self) -> None:
        result = xmr([8.0, 12.0] * 3 + [8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5])
        assert [s.rule for s in result.signals_involving(12)] == ["trend"]
        assert trend_verdict(result, "hoger_is_beter") == VERBETERING
        assert trend_verdict(result, "lager_is_beter") == AANDACHTSPUNT

    @pytest.mark.parametrize("direction", ["hoger_is_beter", "lager_is_beter", "neutraal"])
    def test_no_signal(self, direction: str) -> None:
        assert trend_verdict(xmr(CALM), direction) == GEEN_SIGNIFICANTE_VERANDERING

    def test_old_signal_does_not_count(self) -> None:
        # The run ended before the latest point.
        result = xmr(RUN_UP_AT_END + [10.0, 14.0, 10.0])
        assert rules(result, "run")
        assert result.signals_involving(result.latest_index or 0) == ()
        assert trend_verdict(result, "hoger_is_beter") == GEEN_SIGNIFICANTE_VERANDERING

    def test_trailing_missing_value_uses_latest_available_point(self) -> None:
        result = xmr(RUN_UP_AT_END + [None])
        assert trend_verdict(result, "hoger_is_beter") == VERBETERING

    def test_conflicting_signals_are_aandachtspunt(self) -> None:
        result = xmr(RUN_UP_AT_END)
        last = len(RUN_UP_AT_END) - 1
        mixed = replace(
            result,
            signals=result.signals + (Signal("trend", "down", tuple(range(last - 6, last + 1))),),
        )
        assert trend_verdict(mixed, "hoger_is_beter") == AANDACHTSPUNT
        assert trend_verdict(mixed, "lager_is_beter") == AANDACHTSPUNT
        assert trend_verdict(mixed, "neutraal") == SIGNAAL

    def test_too_few_points(self) -> None:
        assert trend_verdict(xmr([5.0]), "neutraal") == ONVOLDOENDE_GEGEVENS

    def test_unknown_direction(self) -> None:
        with pytest.raises(ValueError):
            trend_verdict(xmr(CALM), "omhoog")


# ---------------------------------------------------------------------------
# Funnel plots
# ---------------------------------------------------------------------------


def _poisson_cdf(k: int, mu: float) -> float:
    if k < 0:
        return 0.0
    return math.fsum(math.exp(-mu + j * math.log(mu) - math.lgamma(j + 1)) for j in range(k + 1))


def _binom_cdf(k: int, n: int, p: float) -> float:
    if k < 0:
        return 0.0
    return math.fsum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))


def _interpolated_limit(p: float, cdf) -> float:  # type: ignore[no-untyped-def]
    """Independent pure-Python version of Spiegelhalter (2005) A.1.1."""
    r = 0
    while cdf(r) < p:
        r += 1
    alpha = (cdf(r) - p) / (cdf(r) - cdf(r - 1))
    return max(r - alpha, 0.0)


class TestFunnelRate:
    @pytest.mark.parametrize("population", [2_000.0, 20_000.0])
    @pytest.mark.parametrize("level", [0.95, 0.998])
    def test_against_pure_python(self, population: float, level: float) -> None:
        reference, per = 5.0, 1000.0
        theta = reference * population / per  # 10 and 100 expected events
        tail = (1 - level) / 2
        lower = _interpolated_limit(tail, lambda k: _poisson_cdf(k, theta)) * per / population
        upper = _interpolated_limit(1 - tail, lambda k: _poisson_cdf(k, theta)) * per / population
        ((size, limits),) = funnel_limits_rate(reference, [population], per=per, levels=(level,))
        assert size == population
        assert limits[level] == pytest.approx((lower, upper), rel=1e-9)

    def test_known_values(self) -> None:
        # theta = 10: 2.5% quantile r = 4, F(4) = 0.029253, F(3) = 0.010336
        # -> 4 - (0.029253 - 0.025) / 0.018917 = 3.7752 events.
        ((_, limits),) = funnel_limits_rate(5.0, [2_000.0], levels=(0.95,))
        assert limits[0.95][0] == pytest.approx(3.7752 / 2, abs=1e-4)

    def test_close_to_normal_for_large_counts(self) -> None:
        ((_, limits),) = funnel_limits_rate(5.0, [2_000_000.0], levels=(0.95,))
        theta = 10_000
        half = 1.959964 * math.sqrt(theta) / 2_000
        assert limits[0.95][0] == pytest.approx(5.0 - half, rel=1e-3)
        assert limits[0.95][1] == pytest.approx(5.0 + half, rel=1e-3)

    def test_limits_narrow_as_population_grows(self) -> None:
        points = funnel_limits_rate(5.0, [1_000, 10_000, 100_000])
        for level in (0.95, 0.998):
            widths = [p.limits[level][1] - p.limits[level][0] for p in points]
            assert widths[0] > widths[1] > widths[2] > 0
        for p in points:
            assert p.limits[0.998][0] <= p.limits[0.95][0] < 5.0 < p.limits[0.95][1]
            assert p.limits[0.95][1] < p.limits[0.998][1]

    def test_lower_limit_clipped_at_zero(self) -> None:
        ((_, limits),) = funnel_limits_rate(5.0, [100.0], levels=(0.998,))
        assert limits[0.998][0] == 0.0


class TestFunnelShare:
    @pytest.mark.parametrize("n", [40, 400])
    @pytest.mark.parametrize("level", [0.95, 0.998])
    def test_exact_against_pure_python(self, n: int, level: float) -> None:
        p = 0.2
        tail = (1 - level) / 2
        lower = _interpolated_limit(tail, lambda k: _binom_cdf(k, n, p)) / n
        upper = _interpolated_limit(1 - tail, lambda k: _binom_cdf(k, n, p)) / n
        ((_, limits),) = funnel_limits_share(p, [n], levels=(level,))
        assert limits[level] == pytest.approx((lower, upper), rel=1e-9)

    @pytest.mark.parametrize("n", [40, 400])
    def test_normal_method(self, n: int) -> None:
        ((_, limits),) = funnel_limits_share(0.2, [n], levels=(0.95,), method="normal")
        half = 1.959964 * math.sqrt(0.2 * 0.8 / n)
        assert limits[0.95] == pytest.approx((0.2 - half, 0.2 + half), rel=1e-6)

    def test_normal_method_clipped(self) -> None:
        ((_, limits),) = funnel_limits_share(0.02, [10], levels=(0.998,), method="normal")
        assert limits[0.998][0] == 0.0

    @pytest.mark.parametrize("method", ["exact", "normal"])
    def test_limits_narrow_and_stay_in_unit_interval(self, method: str) -> None:
        points = funnel_limits_share(0.3, [20, 200, 2000], method=method)  # type: ignore[arg-type]
        for level in (0.95, 0.998):
            widths = [p.limits[level][1] - p.limits[level][0] for p in points]
            assert widths[0] > widths[1] > widths[2] > 0
            for p in points:
                assert 0.0 <= p.limits[level][0] < 0.3 < p.limits[level][1] <= 1.0


class TestFunnelGrid:
    def test_grid(self) -> None:
        grid = funnel_grid(100, 100_000, points=4)
        assert grid == pytest.approx([100, 1_000, 10_000, 100_000])
        assert grid[0] == 100 and grid[-1] == 100_000

    def test_default_length_and_monotone(self) -> None:
        grid = funnel_grid(50, 5_000)
        assert len(grid) == 50
        assert all(a < b for a, b in zip(grid, grid[1:], strict=False))

    @pytest.mark.parametrize(("low", "high", "points"), [(0, 10, 5), (10, 10, 5), (1, 10, 1)])
    def test_rejects_bad_arguments(self, low: float, high: float, points: int) -> None:
        with pytest.raises(ValueError):
            funnel_grid(low, high, points)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

levels = st.floats(min_value=0.5, max_value=0.9999)


@given(observed=st.integers(min_value=0, max_value=100_000), level=levels)
def test_poisson_interval_contains_count(observed: int, level: float) -> None:
    ci = poisson_interval(observed, level)
    assert 0.0 <= ci.lower <= observed < ci.upper


@given(
    events=st.integers(min_value=0, max_value=10_000),
    population=st.floats(min_value=1.0, max_value=1e7),
    level=levels,
)
def test_rate_interval_contains_rate(events: int, population: float, level: float) -> None:
    est = rate_interval(events, population, level=level)
    assert 0.0 <= est.lower <= est.rate < est.upper
    assert est.few_events == (events < 10)


@given(data=st.data(), level=levels)
def test_wilson_within_unit_interval(data: st.DataObject, level: float) -> None:
    n = data.draw(st.integers(min_value=1, max_value=100_000))
    k = data.draw(st.integers(min_value=0, max_value=n))
    ci = wilson_interval(k, n, level)
    assert 0.0 <= ci.lower <= k / n <= ci.upper <= 1.0
    assert ci.lower < ci.upper


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(st.none(), st.just(math.nan), st.floats(min_value=-1e6, max_value=1e6)),
        max_size=40,
    )
)
def test_xmr_signals_reference_available_points(values: list[float | None]) -> None:
    result = xmr(values)
    assert len(result.values) == len(values)
    for signal in result.signals:
        assert list(signal.indices) == sorted(set(signal.indices))
        assert all(result.values[i] is not None for i in signal.indices)
    if result.has_limits:
        assert result.lower_process_limit <= result.lower_near_limit <= result.mean  # type: ignore[operator]
        assert result.mean <= result.upper_near_limit <= result.upper_process_limit  # type: ignore[operator]
