"""Small-number statistics for the quarterly monitor.

Why this module exists
----------------------
The monitor reports counts (meldingen, huisverboden, ...) and shares for the
municipality and for individual wijken.  Many of those numbers are small, and
a bare rate or percentage invites over-interpretation ("wijk X went up 40%!").
Every figure in the workbook therefore gets

* a confidence interval (Poisson counts: exact/Garwood or Byar; shares: Wilson),
* a comparison with the regional reference that takes that uncertainty into
  account ("hoger" / "lager" / "vergelijkbaar"),
* for time series, statistical process control (XmR charts) so only real
  changes are called a change, and
* funnel-plot limits for comparing units of very different size.

Design rules: pure functions on plain floats/ints/sequences, frozen
dataclasses for results, no dependency on other ``etl`` modules, only numpy /
scipy (BSD) as third-party dependencies.  Identifiers and docstrings are
English; the strings returned for display (verdicts, comparison labels,
signal labels) are Dutch because they end up in the policy workbook verbatim.

Sources
-------
* Byar's approximation: Breslow NE, Day NE. *Statistical Methods in Cancer
  Research, Vol. II: The Design and Analysis of Cohort Studies.* IARC
  Scientific Publication 82, 1987, p. 69.  Also used by the Public Health
  England / OHID "Fingertips" technical guidance ("Confidence intervals",
  APHO technical briefing 3, 2008).
* Exact Poisson interval: Garwood F. "Fiducial limits for the Poisson
  distribution." *Biometrika* 28 (1936) 437-442.
* Wilson score interval: Wilson EB. "Probable inference, the law of
  succession, and statistical inference." *JASA* 22 (1927) 209-212;
  recommended by Newcombe RG, *Stat Med* 17 (1998) 857-872.
* XmR charts: NHS England / NHS Improvement, *Making Data Count* (2019) and
  the "Making Data Count: Strengthening your decisions" SPC guidance;
  Wheeler DJ, *Understanding Variation* (2nd ed., 2000) for the constants
  2.66, 3.267 and the 2/3 x 2.66 = 1.773 "near limit" lines.
* Funnel plots: Spiegelhalter DJ. "Funnel plots for comparing institutional
  performance." *Stat Med* 24 (2005) 1185-1202, Appendix A.1 (exact limits
  with interpolation for discrete distributions).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, SupportsFloat, SupportsIndex

from scipy import stats as _st

__all__ = [
    "AANDACHTSPUNT",
    "FEW_EVENTS_THRESHOLD",
    "GEEN_SIGNIFICANTE_VERANDERING",
    "HOGER",
    "LAGER",
    "LEVEL_GEMEENTE",
    "LEVEL_WIJK",
    "MR_EXCLUSION_FACTOR",
    "NEAR_LIMIT_FACTOR",
    "ONVOLDOENDE_GEGEVENS",
    "PROCESS_LIMIT_FACTOR",
    "PROVISIONAL_BELOW",
    "RUN_LENGTH",
    "SIGNAAL",
    "SIGNAL_RULE_LABELS",
    "TREND_LENGTH",
    "VERBETERING",
    "VERGELIJKBAAR",
    "FunnelPoint",
    "Interval",
    "RateEstimate",
    "Signal",
    "XmrResult",
    "compare_share_to_reference",
    "compare_to_reference",
    "funnel_grid",
    "funnel_limits_rate",
    "funnel_limits_share",
    "poisson_interval",
    "rate_interval",
    "trend_verdict",
    "wilson_interval",
    "xmr",
]

# --------------------------------------------------------------------------
# Types and constants
# --------------------------------------------------------------------------

IntervalMethod = Literal["byar", "exact", "wilson"]
SignalRule = Literal["outside_limits", "run", "trend", "two_of_three"]
SignalDirection = Literal["up", "down"]
DesiredDirection = Literal["hoger_is_beter", "lager_is_beter", "neutraal"]
ShareFunnelMethod = Literal["exact", "normal"]

#: Below this many events a count is "small": exact interval instead of Byar,
#: and reports must show a note instead of a bare number.
FEW_EVENTS_THRESHOLD = 10

#: Confidence level used when comparing a municipality with the region.
LEVEL_GEMEENTE = 0.95
#: Confidence level used for wijken (many units compared at once, so a much
#: stricter level, the ~3-sigma level also used for funnel plots).
LEVEL_WIJK = 0.998

#: XmR constants (Wheeler; NHS Making Data Count).
PROCESS_LIMIT_FACTOR = 2.66  # 3 sigma = 3 / d2, d2 = 1.128 for n = 2
NEAR_LIMIT_FACTOR = 1.773  # 2 sigma = 2/3 of the process limit distance
MR_EXCLUSION_FACTOR = 3.267  # upper range limit D4 for moving ranges of 2
RUN_LENGTH = 7  # points on one side of the mean
TREND_LENGTH = 7  # points each strictly above/below the previous one
PROVISIONAL_BELOW = 12  # fewer points than this: limits are provisional

# Comparison labels (Dutch: shown in the workbook).
HOGER = "hoger"
LAGER = "lager"
VERGELIJKBAAR = "vergelijkbaar"

# Trend verdicts (Dutch: shown in the workbook).
VERBETERING = "verbetering"
AANDACHTSPUNT = "aandachtspunt"
SIGNAAL = "signaal"
GEEN_SIGNIFICANTE_VERANDERING = "geen significante verandering"
ONVOLDOENDE_GEGEVENS = "onvoldoende gegevens"

#: Dutch descriptions of the SPC rules, for legends and notes in the workbook.
SIGNAL_RULE_LABELS: dict[str, str] = {
    "outside_limits": "punt buiten de procesgrenzen",
    "run": f"{RUN_LENGTH} of meer punten op rij aan dezelfde kant van het gemiddelde",
    "trend": f"{TREND_LENGTH} of meer punten op rij stijgend of dalend",
    "two_of_three": "2 van 3 opeenvolgende punten voorbij dezelfde 2-sigmalijn",
}

_DESIRED_DIRECTIONS: tuple[str, ...] = ("hoger_is_beter", "lager_is_beter", "neutraal")
# Relative tolerance for "a point exactly on the mean" (the mean is a float
# sum, so 0.1 + 0.2 style rounding must not turn "on the mean" into "above").
_ON_MEAN_REL_TOL = 1e-9


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval.

    ``lower``/``upper`` are on the scale of the estimate (a count for
    :func:`poisson_interval`, a proportion in [0, 1] for
    :func:`wilson_interval`).  ``method`` records which formula was used so
    it can be mentioned in a footnote.
    """

    lower: float
    upper: float
    level: float
    method: IntervalMethod


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """A rate per ``per`` inhabitants with its confidence interval.

    ``few_events`` is True when ``events < FEW_EVENTS_THRESHOLD``: the report
    must then show a note ("minder dan 10 gebeurtenissen") next to, or instead
    of, the bare number.
    """

    events: int
    population: float
    per: float
    rate: float
    lower: float
    upper: float
    level: float
    method: IntervalMethod
    few_events: bool


@dataclass(frozen=True, slots=True)
class Signal:
    """One special-cause signal on an XmR chart.

    ``rule`` is one of ``"outside_limits"`` (rule a), ``"run"`` (rule b),
    ``"trend"`` (rule c) or ``"two_of_three"`` (rule d); see
    :data:`SIGNAL_RULE_LABELS` for Dutch descriptions.

    ``direction`` is ``"up"`` for a point/points above the mean (above the
    upper process limit, above the upper near line, a run above the mean) or a
    rising trend, ``"down"`` for the mirror image.

    ``indices`` are positions in the *original* input sequence (missing values
    keep their position), in increasing order.  For ``two_of_three`` only the
    points beyond the near line are listed, not the third point of the window.
    """

    rule: SignalRule
    direction: SignalDirection
    indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class XmrResult:
    """Outcome of :func:`xmr`.

    ``values`` is the input with missing values normalised to ``None``;
    ``moving_ranges`` is aligned with it (``None`` for missing points and for
    the first available point; otherwise the absolute difference with the
    previous *available* point).  ``excluded_moving_ranges`` lists the
    positions whose moving range exceeded ``3.267 x`` the initial mean moving
    range and was therefore left out of ``mean_moving_range``.

    All limit fields are ``None`` when fewer than two points are available
    (no moving range can be computed); ``mean`` is then the single value, or
    ``None`` for an empty series, and ``signals`` is empty.  The lower limits
    are not clipped at zero: clip for display if the measure cannot be
    negative.
    """

    values: tuple[float | None, ...]
    n_points: int
    mean: float | None
    moving_ranges: tuple[float | None, ...]
    mean_moving_range_initial: float | None
    mean_moving_range: float | None
    excluded_moving_ranges: tuple[int, ...]
    upper_process_limit: float | None
    lower_process_limit: float | None
    upper_near_limit: float | None
    lower_near_limit: float | None
    provisional: bool
    signals: tuple[Signal, ...] = field(default=())

    @property
    def has_limits(self) -> bool:
        """True when limits (and hence signal detection) are available."""
        return self.mean_moving_range is not None

    @property
    def latest_index(self) -> int | None:
        """Position of the most recent non-missing value (None if all missing)."""
        for i in range(len(self.values) - 1, -1, -1):
            if self.values[i] is not None:
                return i
        return None

    @property
    def signal_indices(self) -> frozenset[int]:
        """All positions that take part in at least one signal."""
        return frozenset(i for s in self.signals for i in s.indices)

    def signals_involving(self, index: int) -> tuple[Signal, ...]:
        """The signals in which the point at ``index`` takes part."""
        return tuple(s for s in self.signals if index in s.indices)


class FunnelPoint(NamedTuple):
    """Funnel limits at one unit size: ``(size, {level: (lower, upper)})``.

    A ``NamedTuple`` so it unpacks as the plain pair
    ``size, limits = point`` as well as by name.
    """

    size: float
    limits: dict[float, tuple[float, float]]


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return level


def _z(level: float) -> float:
    """Two-sided standard normal quantile for a confidence level."""
    return float(_st.norm.ppf(1.0 - (1.0 - level) / 2.0))


def _as_count(value: SupportsIndex | SupportsFloat, name: str) -> int:
    """Accept ints (incl. numpy ints) and integral floats such as 65.0.

    pandas turns integer columns with gaps into float columns, so 65.0 must be
    accepted; 65.5, negatives, NaN and booleans are rejected.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer count, got a bool")
    if isinstance(value, SupportsIndex):
        count = operator.index(value)
    else:
        as_float = float(value)
        if not math.isfinite(as_float) or not as_float.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        count = int(as_float)
    if count < 0:
        raise ValueError(f"{name} must be >= 0, got {count}")
    return count


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


# --------------------------------------------------------------------------
# Confidence intervals
# --------------------------------------------------------------------------


def poisson_interval(observed: int, level: float = 0.95) -> Interval:
    """Confidence interval for a Poisson count.

    Why: counts of incidents are modelled as Poisson; the interval expresses
    how much a count of this size would vary by chance alone.

    Method (as in PHE/OHID Fingertips and Breslow & Day 1987):

    * ``observed >= 10``: Byar's approximation, accurate to well within
      rounding for counts of this size::

          lower = O     * (1 - 1/(9 O)     - z / (3 sqrt(O)))**3
          upper = (O+1) * (1 - 1/(9 (O+1)) + z / (3 sqrt(O+1)))**3

    * ``observed < 10``: the exact (Garwood 1936) interval from chi-square
      quantiles, ``lower = chi2.ppf(alpha/2, 2 O) / 2`` (0 when O = 0) and
      ``upper = chi2.ppf(1 - alpha/2, 2 (O + 1)) / 2``.

    ``z = norm.ppf(1 - alpha/2)`` with ``alpha = 1 - level``.  Returns the
    interval for the *count*; see :func:`rate_interval` for rates.
    """
    count = _as_count(observed, "observed")
    level = _check_level(level)
    alpha = 1.0 - level
    if count >= FEW_EVENTS_THRESHOLD:
        z = _z(level)
        o = float(count)
        lower_base = 1.0 - 1.0 / (9.0 * o) - z / (3.0 * math.sqrt(o))
        upper_base = 1.0 - 1.0 / (9.0 * (o + 1.0)) + z / (3.0 * math.sqrt(o + 1.0))
        # The base only becomes negative for absurd levels (z > ~9); clip so
        # the lower limit can never be a negative count.
        lower = o * max(lower_base, 0.0) ** 3
        upper = (o + 1.0) * upper_base**3
        return Interval(lower=lower, upper=upper, level=level, method="byar")
    lower = 0.0 if count == 0 else float(_st.chi2.ppf(alpha / 2.0, 2 * count)) / 2.0
    upper = float(_st.chi2.ppf(1.0 - alpha / 2.0, 2 * (count + 1))) / 2.0
    return Interval(lower=lower, upper=upper, level=level, method="exact")


def rate_interval(
    events: int, population: float, per: float = 1000, level: float = 0.95
) -> RateEstimate:
    """Rate per ``per`` inhabitants with a Poisson confidence interval.

    Why: units differ in size, so counts are reported as rates; the
    uncertainty is that of the count (the population is treated as known),
    so the limits of :func:`poisson_interval` are scaled by ``per /
    population``.  ``few_events`` flags counts below 10 so the report shows a
    note instead of a bare number.

    Raises ``ValueError`` for a population or ``per`` that is not > 0.
    """
    count = _as_count(events, "events")
    population = _positive(population, "population")
    per = _positive(per, "per")
    interval = poisson_interval(count, level)
    scale = per / population
    return RateEstimate(
        events=count,
        population=population,
        per=per,
        rate=count * scale,
        lower=interval.lower * scale,
        upper=interval.upper * scale,
        level=interval.level,
        method=interval.method,
        few_events=count < FEW_EVENTS_THRESHOLD,
    )


def wilson_interval(successes: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval for a proportion ``successes / n``.

    Why: unlike the textbook "p +/- z sqrt(p(1-p)/n)" interval, Wilson's
    interval stays inside [0, 1], is not degenerate at 0% or 100%, and has
    close to nominal coverage for the small denominators of wijk-level
    surveys (Newcombe 1998).

    Formula (Wilson 1927), with ``p = successes / n``::

        centre = (p + z^2 / (2n)) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))

    The limits are exactly 0 when ``successes == 0`` and exactly 1 when
    ``successes == n`` (the formula gives those values up to rounding).

    ``n == 0`` raises ``ValueError``: there is no proportion to estimate, and
    raising forces the caller to show "geen gegevens" explicitly rather than
    silently carrying a ``None`` around.
    """
    k = _as_count(successes, "successes")
    total = _as_count(n, "n")
    if total == 0:
        raise ValueError("n must be > 0 for a proportion (no observations)")
    if k > total:
        raise ValueError(f"successes ({k}) cannot exceed n ({total})")
    level = _check_level(level)
    z = _z(level)
    p = k / total
    z2n = z * z / total
    denominator = 1.0 + z2n
    centre = (p + z2n / 2.0) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / total + z2n / (4.0 * total))
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == total else min(1.0, centre + half)
    return Interval(lower=lower, upper=upper, level=level, method="wilson")


# --------------------------------------------------------------------------
# Comparison with a reference (region)
# --------------------------------------------------------------------------


def _classify(reference: float, lower: float, upper: float) -> str:
    # The unit is "hoger" when even its lower limit lies above the reference.
    if reference < lower:
        return HOGER
    if reference > upper:
        return LAGER
    return VERGELIJKBAAR


def compare_to_reference(
    observed: int,
    reference_rate: float,
    population: float,
    level: float = LEVEL_GEMEENTE,
    per: float = 1000,
) -> str:
    """Compare a unit's rate with a reference (regional) rate.

    ``reference_rate`` is expressed per ``per`` inhabitants, like the unit's
    rate.  The unit's rate interval (:func:`rate_interval`) is computed at
    ``level``; when the reference lies below the whole interval the unit is
    ``"hoger"``, above it ``"lager"``, otherwise ``"vergelijkbaar"`` (a
    reference exactly on a limit counts as comparable).

    Use :data:`LEVEL_GEMEENTE` (95%) for municipalities and
    :data:`LEVEL_WIJK` (99.8%) for wijken: with many wijken compared at once
    a 95% level would flag about 1 in 20 of them by chance alone.
    """
    reference_rate = float(reference_rate)
    if not math.isfinite(reference_rate) or reference_rate < 0:
        raise ValueError(f"reference_rate must be a finite number >= 0, got {reference_rate!r}")
    estimate = rate_interval(observed, population, per=per, level=level)
    return _classify(reference_rate, estimate.lower, estimate.upper)


def compare_share_to_reference(
    successes: int,
    n: int,
    reference_share: float,
    level: float = LEVEL_GEMEENTE,
) -> str:
    """Compare a unit's proportion with a reference proportion (0..1).

    Same logic as :func:`compare_to_reference`, using the Wilson interval of
    ``successes / n``.  ``n == 0`` raises ``ValueError`` (see
    :func:`wilson_interval`).
    """
    reference_share = float(reference_share)
    if not 0.0 <= reference_share <= 1.0:
        raise ValueError(f"reference_share must lie in [0, 1], got {reference_share!r}")
    interval = wilson_interval(successes, n, level)
    return _classify(reference_share, interval.lower, interval.upper)


# --------------------------------------------------------------------------
# XmR charts (statistical process control)
# --------------------------------------------------------------------------


def _normalise(value: object) -> float | None:
    """Map one input value to a float, or None when it is missing.

    Missing: ``None``, NaN, and pandas' ``NA``/``NaT`` (recognised by type
    name so this module does not need to import pandas).
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ValueError(f"infinite value in series: {value!r}")
    return number


def _runs(points: list[tuple[int, float]], mean: float) -> list[Signal]:
    """Rule b: RUN_LENGTH+ consecutive points strictly on one side of the mean."""
    signals: list[Signal] = []
    current: list[int] = []
    current_side = 0
    tolerance = _ON_MEAN_REL_TOL * max(abs(mean), 1.0)
    for index, value in points + [(-1, mean)]:  # sentinel on the mean flushes
        diff = value - mean
        side = 0 if abs(diff) <= tolerance else (1 if diff > 0 else -1)
        if side != 0 and side == current_side:
            current.append(index)
            continue
        if current_side != 0 and len(current) >= RUN_LENGTH:
            signals.append(Signal("run", "up" if current_side > 0 else "down", tuple(current)))
        current_side = side
        current = [index] if side != 0 else []
    return signals


def _trends(points: list[tuple[int, float]]) -> list[Signal]:
    """Rule c: TREND_LENGTH+ consecutive points each strictly above (below) the previous."""
    signals: list[Signal] = []
    directions: tuple[tuple[SignalDirection, float], ...] = (("up", 1.0), ("down", -1.0))
    for direction, sign in directions:
        start = 0
        while start < len(points) - 1:
            end = start
            while end + 1 < len(points) and sign * (points[end + 1][1] - points[end][1]) > 0:
                end += 1
            if end - start + 1 >= TREND_LENGTH:
                indices = tuple(i for i, _ in points[start : end + 1])
                signals.append(Signal("trend", direction, indices))
            start = end if end > start else start + 1
    return signals


def _two_of_three(
    points: list[tuple[int, float]], upper_near: float, lower_near: float
) -> list[Signal]:
    """Rule d: 2 of 3 consecutive points beyond the same near (2-sigma) line.

    Points beyond the process limit are also beyond the near line and count.
    Overlapping qualifying windows are merged into one signal.
    """
    signals: list[Signal] = []
    directions: tuple[SignalDirection, ...] = ("up", "down")
    for direction in directions:
        beyond = [(v > upper_near) if direction == "up" else (v < lower_near) for _, v in points]
        cluster: set[int] = set()
        cluster_end = -1  # position (in ``points``) of the last point of the cluster
        for start in range(len(points) - 2):
            window = range(start, start + 3)
            if sum(beyond[k] for k in window) < 2:
                continue
            flagged = {points[k][0] for k in window if beyond[k]}
            if cluster and start > cluster_end:
                signals.append(Signal("two_of_three", direction, tuple(sorted(cluster))))
                cluster = set()
            cluster |= flagged
            cluster_end = start + 2
        if cluster:
            signals.append(Signal("two_of_three", direction, tuple(sorted(cluster))))
    return signals


def xmr(values: Iterable[float | None]) -> XmrResult:
    """XmR (individuals / moving range) chart with NHS "Making Data Count" rules.

    Why: quarter-on-quarter differences in small counts are mostly noise.
    An XmR chart estimates the routine (common-cause) variation from the
    series itself and only calls a change when one of the special-cause rules
    fires, which is what the policy reports should react to.

    Method:

    1. Missing values (None/NaN) are skipped for every calculation but keep
       their position; moving ranges and the "consecutive" in the rules refer
       to consecutive *available* points.
    2. Centre line = mean of the available values.
    3. Moving ranges |x_t - x_(t-1)|, their mean MR-bar; moving ranges above
       3.267 x MR-bar (the upper range limit) are excluded once and MR-bar is
       recomputed, so a single shock does not inflate the limits.
    4. Process limits = mean +/- 2.66 x MR-bar; near-limit (2-sigma) lines =
       mean +/- 1.773 x MR-bar.
    5. Signals, each with the positions involved:
       (a) a point strictly outside the process limits;
       (b) a run of 7+ consecutive points strictly on one side of the mean
           (a point on the mean, within a relative 1e-9, breaks the run);
       (c) 7+ consecutive points each strictly higher (lower) than the
           previous one - equal neighbours break the trend;
       (d) 2 of 3 consecutive points strictly beyond the same near-limit line.
    6. ``provisional`` is True with fewer than 12 available points: limits
       should then be labelled "voorlopig".

    With fewer than 2 available points no moving range exists: the result has
    ``mean`` (the single value, or None), no limits and no signals.

    Sources: NHS England, *Making Data Count* (2019); Wheeler, *Understanding
    Variation* (2000).
    """
    normalised = tuple(_normalise(v) for v in values)
    points = [(i, v) for i, v in enumerate(normalised) if v is not None]
    n_points = len(points)
    provisional = n_points < PROVISIONAL_BELOW

    if n_points < 2:
        return XmrResult(
            values=normalised,
            n_points=n_points,
            mean=points[0][1] if points else None,
            moving_ranges=(None,) * len(normalised),
            mean_moving_range_initial=None,
            mean_moving_range=None,
            excluded_moving_ranges=(),
            upper_process_limit=None,
            lower_process_limit=None,
            upper_near_limit=None,
            lower_near_limit=None,
            provisional=provisional,
            signals=(),
        )

    mean = math.fsum(v for _, v in points) / n_points
    ranges = [(points[k][0], abs(points[k][1] - points[k - 1][1])) for k in range(1, n_points)]
    mr_initial = math.fsum(r for _, r in ranges) / len(ranges)
    threshold = MR_EXCLUSION_FACTOR * mr_initial
    kept = [r for _, r in ranges if r <= threshold]
    excluded = tuple(i for i, r in ranges if r > threshold)
    # ``kept`` cannot be empty (not every range can exceed 3.267 x their mean),
    # but guard anyway rather than divide by zero.
    mr_bar = math.fsum(kept) / len(kept) if kept else mr_initial

    moving_ranges: list[float | None] = [None] * len(normalised)
    for i, r in ranges:
        moving_ranges[i] = r

    upl = mean + PROCESS_LIMIT_FACTOR * mr_bar
    lpl = mean - PROCESS_LIMIT_FACTOR * mr_bar
    upper_near = mean + NEAR_LIMIT_FACTOR * mr_bar
    lower_near = mean - NEAR_LIMIT_FACTOR * mr_bar

    signals: list[Signal] = []
    for i, v in points:
        if v > upl:
            signals.append(Signal("outside_limits", "up", (i,)))
        elif v < lpl:
            signals.append(Signal("outside_limits", "down", (i,)))
    signals += _runs(points, mean)
    signals += _trends(points)
    signals += _two_of_three(points, upper_near, lower_near)
    signals.sort(key=lambda s: (s.indices[0], s.rule, s.direction))

    return XmrResult(
        values=normalised,
        n_points=n_points,
        mean=mean,
        moving_ranges=tuple(moving_ranges),
        mean_moving_range_initial=mr_initial,
        mean_moving_range=mr_bar,
        excluded_moving_ranges=excluded,
        upper_process_limit=upl,
        lower_process_limit=lpl,
        upper_near_limit=upper_near,
        lower_near_limit=lower_near,
        provisional=provisional,
        signals=tuple(signals),
    )


def trend_verdict(result: XmrResult, direction: str) -> str:
    """Translate an XmR result into a Dutch verdict for the workbook.

    ``direction`` is the indicator's intended direction from configuration:
    ``"hoger_is_beter"``, ``"lager_is_beter"`` or ``"neutraal"``.

    Choice: only signals in which the **latest available point** takes part
    count - the question the report answers is "is the most recent quarter
    part of a special-cause pattern?", not "was there ever a signal?".  (An
    ongoing run or trend includes the latest point; a closed one does not.)
    The latest point is the last non-missing value.

    * no such signal -> ``"geen significante verandering"``;
    * ``"neutraal"`` -> ``"signaal"`` for any such signal;
    * otherwise each signal's ``direction`` ("up" = above the mean or
      rising, "down" = below or falling) is matched with the desired
      direction: all favourable -> ``"verbetering"``, otherwise (all
      unfavourable, or conflicting signals) -> ``"aandachtspunt"`` - a
      conflict is flagged for attention rather than reported as good news;
    * fewer than 2 available points (no limits) -> ``"onvoldoende gegevens"``
      rather than a misleading "no change".
    """
    if direction not in _DESIRED_DIRECTIONS:
        raise ValueError(
            f"direction must be one of {', '.join(_DESIRED_DIRECTIONS)}; got {direction!r}"
        )
    if not result.has_limits:
        return ONVOLDOENDE_GEGEVENS
    latest = result.latest_index
    relevant = result.signals_involving(latest) if latest is not None else ()
    if not relevant:
        return GEEN_SIGNIFICANTE_VERANDERING
    if direction == "neutraal":
        return SIGNAAL
    favourable = "up" if direction == "hoger_is_beter" else "down"
    if all(s.direction == favourable for s in relevant):
        return VERBETERING
    return AANDACHTSPUNT


# --------------------------------------------------------------------------
# Funnel plots
# --------------------------------------------------------------------------


def _interpolated_quantile(
    p: float, cdf: Callable[[float], float], ppf: Callable[[float], float]
) -> float:
    """Spiegelhalter (2005) A.1.1 interpolated quantile of a discrete distribution.

    ``r`` is the smallest integer with ``F(r) >= p``; the continuous limit is
    ``r - alpha`` with ``alpha = (F(r) - p) / (F(r) - F(r - 1))``, which makes
    the funnel lines smooth instead of step-shaped.  Clipped at 0.
    """
    r = float(ppf(p))
    # Guard against floating-point slop in scipy's ppf: enforce the definition.
    while r > 0 and float(cdf(r - 1)) >= p:
        r -= 1
    while float(cdf(r)) < p:
        r += 1
    f_r = float(cdf(r))
    f_prev = float(cdf(r - 1)) if r > 0 else 0.0
    alpha = (f_r - p) / (f_r - f_prev) if f_r > f_prev else 0.0
    return max(r - alpha, 0.0)


def funnel_limits_rate(
    reference_rate_per: float,
    populations: Sequence[float],
    per: float = 1000,
    levels: Sequence[float] = (0.95, 0.998),
) -> list[FunnelPoint]:
    """Funnel-plot control limits for rates around a reference rate.

    Why: a funnel plot shows each unit's rate against its population, with
    limits that are wide for small units and narrow for large ones, so
    "extreme" small units are not singled out for what is only chance.

    Method (Spiegelhalter 2005, Appendix A.1.1): for a unit of population
    ``n`` the expected count is ``theta = reference_rate_per x n / per``.
    The limits are the ``(1-level)/2`` and ``1-(1-level)/2`` quantiles of
    Poisson(theta), made continuous by interpolation between the discrete
    quantile ``r_p`` and ``r_p - 1`` (see :func:`_interpolated_quantile`),
    clipped at 0 and converted back to a rate (``x per / n``).

    Returns one :class:`FunnelPoint` ``(population, {level: (lower, upper)})``
    per population, in input order.
    """
    reference = float(reference_rate_per)
    if not math.isfinite(reference) or reference < 0:
        raise ValueError(f"reference_rate_per must be a finite number >= 0, got {reference!r}")
    per = _positive(per, "per")
    checked_levels = [_check_level(level) for level in levels]
    result: list[FunnelPoint] = []
    for population in populations:
        size = _positive(population, "population")
        theta = reference * size / per
        limits: dict[float, tuple[float, float]] = {}
        for level in checked_levels:
            if theta == 0:
                limits[level] = (0.0, 0.0)
                continue
            dist = _st.poisson(theta)
            tail = (1.0 - level) / 2.0
            low = _interpolated_quantile(tail, dist.cdf, dist.ppf)
            high = _interpolated_quantile(1.0 - tail, dist.cdf, dist.ppf)
            limits[level] = (low * per / size, high * per / size)
        result.append(FunnelPoint(size, limits))
    return result


def funnel_limits_share(
    reference_share: float,
    sizes: Sequence[float],
    levels: Sequence[float] = (0.95, 0.998),
    method: ShareFunnelMethod = "exact",
) -> list[FunnelPoint]:
    """Funnel-plot control limits for proportions around a reference share.

    * ``method="exact"`` (default): binomial(n, p) quantiles with the same
      Spiegelhalter (2005, A.1.1) interpolation as :func:`funnel_limits_rate`,
      divided by ``n``.  The binomial needs a whole ``n``, so a non-integer
      size (e.g. from :func:`funnel_grid`) is rounded to the nearest whole
      number (at least 1) for the calculation; the returned size is the input.
      Preferred because wijk denominators are often small and shares near 0%
      or 100%, where the normal approximation is poor.
    * ``method="normal"``: ``p +/- z sqrt(p (1 - p) / n)`` clipped to [0, 1]
      (Spiegelhalter 2005, section 3.1); accepts any real ``n > 0``.

    Returns one :class:`FunnelPoint` ``(size, {level: (lower, upper)})`` per
    size, in input order; limits are proportions in [0, 1].
    """
    p = float(reference_share)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"reference_share must lie in [0, 1], got {p!r}")
    if method not in ("exact", "normal"):
        raise ValueError(f"method must be 'exact' or 'normal', got {method!r}")
    checked_levels = [_check_level(level) for level in levels]
    result: list[FunnelPoint] = []
    for raw_size in sizes:
        size = _positive(raw_size, "size")
        limits: dict[float, tuple[float, float]] = {}
        for level in checked_levels:
            if method == "normal":
                half = _z(level) * math.sqrt(p * (1.0 - p) / size)
                limits[level] = (max(0.0, p - half), min(1.0, p + half))
                continue
            n = max(1, round(size))
            dist = _st.binom(n, p)
            tail = (1.0 - level) / 2.0
            low = _interpolated_quantile(tail, dist.cdf, dist.ppf)
            high = _interpolated_quantile(1.0 - tail, dist.cdf, dist.ppf)
            limits[level] = (min(low / n, 1.0), min(high / n, 1.0))
        result.append(FunnelPoint(size, limits))
    return result


def funnel_grid(min_size: float, max_size: float, points: int = 50) -> list[float]:
    """Sizes at which to evaluate funnel limits to draw smooth funnel lines.

    Spaced geometrically (evenly on a log scale) because the limits change
    fastest for small units; both end points are included exactly.  Feed the
    result to :func:`funnel_limits_rate` / :func:`funnel_limits_share`.
    """
    low = _positive(min_size, "min_size")
    high = _positive(max_size, "max_size")
    if high <= low:
        raise ValueError(f"max_size ({high}) must exceed min_size ({low})")
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    ratio = math.log(high / low)
    grid = [low * math.exp(ratio * k / (points - 1)) for k in range(points)]
    grid[0], grid[-1] = low, high
    return grid
