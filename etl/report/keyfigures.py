"""Key indicators per action line: value, 95% interval, history and the XmR trend verdict.

A key indicator (``include/indicators.yaml``, ``kernindicatoren``) is computed for
each of the eight quarters from that quarter's *protected* view, so a hidden value is
a gap in the series, in the chart and in the XmR calculation (the centre line of the
visible points cannot give a hidden point back). The verdict comes from
``etl.report.stats.trend_verdict`` with the direction from configuration; it replaces any
judgement based on the bare change since last quarter.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.core.catalogue import Indicator, KeyIndicator
from etl.core.quarters import days_in_quarter, parse_quarter
from etl.core.sources import load_sources
from etl.report import stats
from etl.report.context import ReportContext
from etl.report.disclosure import Shown
from etl.report.protect import GROUP_AREAS

NOT_YET = "bestond nog niet"


@dataclass(frozen=True)
class Point:
    """One quarter of a key indicator."""

    periode: str
    value: float | None                 # visible value (None when hidden or missing)
    shown: float | str | None           # what the workbook shows ("<5", "x", None)
    interval: tuple[float, float] | None
    few_events: bool = False
    note: str = ""                       # "bestond nog niet", "ontbreekt", ...


@dataclass(frozen=True)
class KeyFigure:
    spec: KeyIndicator
    indicator: Indicator
    points: tuple[Point, ...]
    xmr: stats.XmrResult
    verdict: str
    signals: tuple[stats.Signal, ...]    # the signals the latest point takes part in

    @property
    def current(self) -> Point:
        return self.points[-1]

    def at(self, periode: str) -> Point | None:
        for p in self.points:
            if p.periode == periode:
                return p
        return None

    @property
    def signal_points(self) -> tuple[int, ...]:
        """Positions of the quarters that make the signals the verdict rests on (marked in the chart).

        Only the signals the latest quarter takes part in: an older signal the verdict
        ignores (a low point two years ago) is not marked, and for "2 of 3 beyond the
        near line" only the points beyond it, not the third point of the window.
        """
        return tuple(sorted({i for s in self.signals for i in s.indices}))

    @property
    def signal_text(self) -> str:
        """The signals in words a policy officer uses ("3 kwartalen op rij hoger dan gewoonlijk")."""
        if not self.xmr.has_limits:
            return "te weinig kwartalen om te beoordelen"
        if not self.signals:
            return "geen signaal: schommeling past bij toeval"
        parts = [signal_words(s, [p.periode for p in self.points]) for s in self.signals]
        return "; ".join(dict.fromkeys(parts))

    @property
    def limits_note(self) -> str:
        if not self.xmr.has_limits:
            return ""
        if self.xmr.provisional:
            return f"grenzen voorlopig ({self.xmr.n_points} kwartalen)"
        return f"grenzen op {self.xmr.n_points} kwartalen"


def _quarters_text(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def signal_words(signal: stats.Signal, periods: list[str]) -> str:
    """One signal in plain Dutch, naming its quarters (they are marked in the Trends chart).

    The words refer to what the chart draws: the average (centre line) and the upper and
    lower limit of ordinary variation; "duidelijk hoger dan gewoonlijk" is the near line
    (two thirds of the way to a limit), which the chart does not draw.
    """
    up = signal.direction == "up"
    n = len(signal.indices)
    when = _quarters_text([periods[i] for i in signal.indices])
    if signal.rule == "outside_limits":
        return f"{when} uitzonderlijk {'hoog' if up else 'laag'}: {'boven de bovengrens' if up else 'onder de ondergrens'}"
    if signal.rule == "run":
        return f"{n} kwartalen op rij {'hoger' if up else 'lager'} dan gemiddeld ({periods[signal.indices[0]]} t/m {periods[signal.indices[-1]]})"
    if signal.rule == "trend":
        return f"{n} kwartalen op rij {'gestegen' if up else 'gedaald'} ({periods[signal.indices[0]]} t/m {periods[signal.indices[-1]]})"
    span = signal.indices[-1] - signal.indices[0] + 1
    way = "hoger" if up else "lager"
    if span == n:
        return f"{n} kwartalen op rij duidelijk {way} dan gewoonlijk ({when})"
    return f"{n} van {span} kwartalen duidelijk {way} dan gewoonlijk ({when})"


def _available_from(bron: str, indicator_keys: tuple[str, ...]) -> str | None:
    for sheet in load_sources()[bron].sheets:
        names = {c.name for c in sheet.columns}
        if sheet.available_from and names.intersection(indicator_keys):
            return sheet.available_from
    return None


def compute_point(ctx: ReportContext, spec: KeyIndicator, ind: Indicator, periode: str) -> Point:
    view = ctx.views[periode]
    gtype, code = GROUP_AREAS[spec.gebied]
    start = _available_from(spec.bron, spec.delen or (spec.indicator,))
    if start and parse_quarter(periode) < parse_quarter(start):
        return Point(periode, None, None, None, note=NOT_YET)

    if spec.berekening == "per_1000_inwoners":
        cell = view.get(spec.bron, gtype, code, spec.teller or "")
        pop = ctx.region_population(periode) if spec.gebied == "regio" else ctx.population(code, periode)
        if cell.hidden:
            return Point(periode, None, cell.shown if isinstance(cell.shown, str) else "x", None)
        if cell.visible is None or not pop:
            return Point(periode, None, None, None, note="ontbreekt")
        est = stats.rate_interval(int(cell.visible), pop)
        return Point(periode, est.rate, est.rate, (est.lower, est.upper), few_events=est.few_events)

    cell = view.get(spec.bron, gtype, code, spec.indicator)
    return _point_from_cell(view, spec.bron, gtype, code, ind, cell, periode, ctx)


def _point_from_cell(view, bron: str, gtype: str, code: str, ind: Indicator, cell: Shown, periode: str,
                     ctx: ReportContext) -> Point:
    if cell.hidden:
        return Point(periode, None, cell.shown, None)
    if cell.visible is None:
        return Point(periode, None, None, None, note="ontbreekt")
    v = cell.visible
    if ind.soort == "aantal":
        iv = stats.poisson_interval(int(v))
        return Point(periode, v, v, (iv.lower, iv.upper), few_events=v < stats.FEW_EVENTS_THRESHOLD)
    if ind.soort == "aandeel":
        k, n = share_parts(ctx, view, bron, gtype, code, ind, periode)
        if k is None or not n:
            return Point(periode, v, v, None)
        iv = stats.wilson_interval(k, n)
        return Point(periode, v, v, (iv.lower, iv.upper))
    return Point(periode, v, v, None)


def share_parts(ctx: ReportContext, view, bron: str, gtype: str, code: str, ind: Indicator,
                periode: str) -> tuple[int | None, int | None]:
    """Teller and noemer of a share (exact: only used when the share itself is visible)."""
    if ind.noemer == "capaciteit_plaatsdagen":

        places = view.get(bron, gtype, code, "plaatsen_crisisopvang").value
        n = None if places is None else int(places) * days_in_quarter(periode)
    else:
        n_val = view.get(bron, gtype, code, ind.noemer or "").value
        n = None if n_val is None else int(n_val)
    k_val = view.get(bron, gtype, code, ind.teller or "").value
    k = None if k_val is None else int(k_val)
    if k is not None and n is not None and k > n:
        k = n
    return k, n


def compute(ctx: ReportContext) -> list[KeyFigure]:
    out: list[KeyFigure] = []
    for spec in ctx.catalogue.key_indicators:
        ind = ctx.catalogue.get(spec.bron, spec.indicator)
        points = tuple(compute_point(ctx, spec, ind, q) for q in ctx.quarters)
        res = stats.xmr([p.value for p in points])
        verdict = stats.trend_verdict(res, spec.richting)
        latest = res.latest_index
        relevant = res.signals_involving(latest) if latest is not None and res.has_limits else ()
        if points[-1].value is None and res.has_limits:
            # The latest quarter itself is hidden or missing: say so rather than judge an older point.
            verdict = stats.ONVOLDOENDE_GEGEVENS
            relevant = ()
        out.append(KeyFigure(spec, ind, points, res, verdict, tuple(relevant)))
    return out
