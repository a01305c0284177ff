"""Funnel-plot data: units, the reference line and the 95% / 99.8% limits.

Two funnels, each for the quarter and for the last four quarters together:
meldingen per 1,000 inhabitants across the region's municipalities, and the nazorg
share across the WIJ districts. Units whose figure is hidden by disclosure control
are left out of the chart (and listed as hidden in the table); the reference is the
region's (city's) own figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.report import stats
from etl.report.context import ReportContext
from etl.report.disclosure import Shown
from etl.report.protect import CITY, REGIO, protect_sums, sum_hidden_reason

LEVELS = (0.95, 0.998)
GRID_POINTS = 25


@dataclass(frozen=True)
class FunnelUnit:
    naam: str
    size: float | None            # population, or closed cases
    value: float | None           # visible rate / share (None when hidden or missing)
    shown: float | str | None
    position: str                 # "binnen de grenzen", "boven 95%-grens", ...
    reason: str = ""              # why a hidden unit is hidden (four-quarter funnels)


@dataclass(frozen=True)
class Funnel:
    key: str
    title: str
    x_label: str
    y_label: str
    kind: str                     # "rate" or "share"
    reference: float | None
    units: tuple[FunnelUnit, ...]
    grid: tuple[stats.FunnelPoint, ...]
    note: str = ""


def _position(value: float, limits: dict[float, tuple[float, float]]) -> str:
    lo998, hi998 = limits[0.998]
    lo95, hi95 = limits[0.95]
    if value > hi998:
        return "boven 99,8%-grens"
    if value < lo998:
        return "onder 99,8%-grens"
    if value > hi95:
        return "boven 95%-grens"
    if value < lo95:
        return "onder 95%-grens"
    return "binnen de grenzen"


def _grid(sizes: list[float], make) -> tuple[stats.FunnelPoint, ...]:
    if not sizes:
        return ()
    lo, hi = min(sizes) * 0.7, max(sizes) * 1.3
    return tuple(make(stats.funnel_grid(lo, hi, GRID_POINTS)))


def _rate_funnel(ctx: ReportContext, key: str, title: str, cells: dict[str, Shown], region: Shown,
                 pop_periode: str, note: str, reasons: dict[str, str] | None = None) -> Funnel:
    region_pop = ctx.region_population(pop_periode)
    reference = None if region.visible is None or not region_pop else region.visible / region_pop * 1000
    units: list[FunnelUnit] = []
    for g in ctx.gemeenten:
        cell = cells.get(g.code)
        pop = ctx.population(g.code, pop_periode)
        if cell is None or cell.visible is None or not pop:
            shown = "x" if cell is not None and cell.hidden else None
            units.append(FunnelUnit(g.naam, pop, None, shown, "afgeschermd" if cell is not None and cell.hidden else "ontbreekt",
                                    (reasons or {}).get(g.code, "")))
            continue
        rate = cell.visible / pop * 1000
        pos = "–" if reference is None else _position(rate, stats.funnel_limits_rate(reference, [pop], levels=LEVELS)[0].limits)
        units.append(FunnelUnit(g.naam, pop, rate, rate, pos))
    sizes = [u.size for u in units if u.size]
    grid = () if reference is None else _grid(sizes, lambda s: stats.funnel_limits_rate(reference, s, levels=LEVELS))
    return Funnel(key, title, "Inwoners", "Meldingen per 1.000 inwoners", "rate", reference, tuple(units), grid, note)


def _share_funnel(ctx: ReportContext, key: str, title: str, k_cells: dict[str, Shown], n_cells: dict[str, Shown],
                  k_city: Shown, n_city: Shown, note: str, reasons: dict[str, str] | None = None) -> Funnel:
    reference = None
    if k_city.visible is not None and n_city.visible:
        reference = k_city.visible / n_city.visible
    units: list[FunnelUnit] = []
    for w in ctx.wijken:
        k, n = k_cells.get(w.naam), n_cells.get(w.naam)
        if k is None or n is None:
            units.append(FunnelUnit(w.naam, None, None, None, "ontbreekt"))
            continue
        if k.hidden or n.hidden:
            units.append(FunnelUnit(w.naam, n.visible, None, "x", "afgeschermd", (reasons or {}).get(w.naam, "")))
            continue
        if k.visible is None or not n.visible:
            units.append(FunnelUnit(w.naam, n.visible, None, None, "ontbreekt" if n.visible is None else "geen afgesloten casussen"))
            continue
        share = k.visible / n.visible
        pos = "–" if reference is None else _position(share, stats.funnel_limits_share(reference, [n.visible], levels=LEVELS)[0].limits)
        units.append(FunnelUnit(w.naam, n.visible, share, share, pos))
    sizes = [u.size for u in units if u.size]
    grid = () if reference is None else _grid(sizes, lambda s: stats.funnel_limits_share(reference, s, levels=LEVELS))
    return Funnel(key, title, "Afgesloten casussen (nazorg bekend)", "Aandeel met nazorg", "share", reference, tuple(units), grid, note)


def compute(ctx: ReportContext) -> list[Funnel]:
    view = ctx.view
    last4 = ctx.quarters[-4:]
    funnels: list[Funnel] = []

    # Meldingen per 1,000, this quarter.
    cells = {g.code: view.get("veilig_thuis", "gemeente", g.code, "meldingen_totaal") for g in ctx.gemeenten}
    funnels.append(_rate_funnel(ctx, "meldingen_kwartaal", f"Meldingen per 1.000 inwoners, {ctx.periode}", cells,
                                view.get("veilig_thuis", *REGIO, "meldingen_totaal"), ctx.periode, ""))

    # Meldingen per 1,000, last four quarters (a year): sums protected as their own view.
    views = [ctx.views[q] for q in last4]
    units = [("veilig_thuis", "gemeente", g.code) for g in ctx.gemeenten] + [("veilig_thuis", *REGIO)]
    sums = protect_sums(views, units, ["meldingen_totaal"],
                        {("veilig_thuis", *REGIO): [("veilig_thuis", "gemeente", g.code) for g in ctx.gemeenten]})
    cells4 = {g.code: sums[("veilig_thuis", "gemeente", g.code, "meldingen_totaal")] for g in ctx.gemeenten}
    reasons4 = {code: sum_hidden_reason(views, ("veilig_thuis", "gemeente", code, "meldingen_totaal"), c)
                for code, c in cells4.items()}
    funnels.append(_rate_funnel(ctx, "meldingen_jaar", f"Meldingen per 1.000 inwoners, {last4[0]}–{last4[-1]}",
                                cells4, sums[("veilig_thuis", *REGIO, "meldingen_totaal")], ctx.periode,
                                "Som van vier kwartalen gedeeld door de inwoners van het laatste jaar.", reasons4))

    # Nazorg share per wijk, this quarter.
    k = {w.naam: view.get("wij", "wijk", w.naam, "nazorg_aantal") for w in ctx.wijken}
    n = {w.naam: view.get("wij", "wijk", w.naam, "nazorg_bekend") for w in ctx.wijken}     # n = nazorg known
    funnels.append(_share_funnel(ctx, "nazorg_kwartaal", f"Nazorg-aandeel per wijk, {ctx.periode}", k, n,
                                 view.get("wij", *CITY, "nazorg_aantal"), view.get("wij", *CITY, "nazorg_bekend"), ""))

    # Nazorg share per wijk, last four quarters.
    wunits = [("wij", "wijk", w.naam) for w in ctx.wijken] + [("wij", *CITY)]
    wsums = protect_sums(views, wunits, ["nazorg_aantal", "nazorg_bekend"],
                         {("wij", *CITY): [("wij", "wijk", w.naam) for w in ctx.wijken]})
    k4 = {w.naam: wsums[("wij", "wijk", w.naam, "nazorg_aantal")] for w in ctx.wijken}
    n4 = {w.naam: wsums[("wij", "wijk", w.naam, "nazorg_bekend")] for w in ctx.wijken}
    wreasons: dict[str, str] = {}
    for w in ctx.wijken:
        for ind, cells in (("nazorg_bekend", n4), ("nazorg_aantal", k4)):
            why = sum_hidden_reason(views, ("wij", "wijk", w.naam, ind), cells[w.naam])
            if why and w.naam not in wreasons:
                label = "afgesloten casussen met bekende nazorg" if ind == "nazorg_bekend" else "nazorg"
                wreasons[w.naam] = f"{label}: {why}"
    funnels.append(_share_funnel(ctx, "nazorg_jaar", f"Nazorg-aandeel per wijk, {last4[0]}–{last4[-1]}", k4, n4,
                                 wsums[("wij", *CITY, "nazorg_aantal")], wsums[("wij", *CITY, "nazorg_bekend")],
                                 "Afgesloten casussen waarvan de nazorg bekend is, en nazorg, opgeteld over vier kwartalen; een totaal wordt op "
                                 "zijn eigen grootte beoordeeld.", wreasons))
    return funnels
