"""The quarter's figures after disclosure control: what every sheet of the workbook reads.

One call of :func:`etl.report.disclosure.suppress` per quarter covers every view of that
quarter at once (the per-municipality tables, the WIJ table with its subtotals, the
region figures, the Data sheet), because a cell hidden in one view and visible in
another would undo the hiding. The constraints are the additive relations a reader of
the workbook can use:

* region total = sum over the municipalities, for every count of a per-municipality sheet;
* the ``sum`` rules of ``include/sources.yaml`` (kinds of violence and melders add up to
  meldingen), for every municipality and for the region;
* WIJ: city = sum over wijken, northern subtotal = sum over the northern wijken, other
  subtotal = sum over the others, city = northern + other; also for the stored nazorg
  counts (with nazorg, nazorg known, nazorg unknown);
* Steunpunt: contacts total = inloop + telefonisch + chat.

Four-quarter views (the funnel plots over the last year) get their own call,
:func:`protect_sums`: a sum is judged on its own size, audited together with the
published quarterly cells, so it is hidden only when it is small itself or when showing
it would let a reader work a hidden quarterly figure back out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from etl.core.catalogue import Catalogue
from etl.core.organisations import has_several
from etl.core.reference import gemeenten, wijken, wijken_of
from etl.core.sources import load_sources
from etl.report.disclosure import MISSING, Constraint, Shown, suppress

Key = tuple[str, str, str, str]  # (bron, gebied_type, gebied_code, indicator)

REGIO = ("regio", "regio")
CITY = ("gemeente", "GM0014")
NOORD = ("wijkgroep", "noordelijk")
OVERIG = ("wijkgroep", "overig")
GROUP_AREAS = {"regio": REGIO, "GM0014": CITY, "noordelijk": NOORD}

_NOTHING = Shown(None, None, MISSING)


@dataclass
class QuarterView:
    """The quarter's cells after disclosure control, plus the dataset status of each cell."""

    periode: str
    cells: dict[Key, Shown]
    status: dict[Key, str] = field(default_factory=dict)
    #: The additive relations of this quarter's tables (for the four-quarter sums, whose
    #: audit must know every equation a reader of the quarterly workbooks can use).
    constraints: list[Constraint[Key]] = field(default_factory=list)
    #: Keys of count cells (the rest of ``cells`` are derived measures).
    count_keys: frozenset[Key] = frozenset()

    def get(self, bron: str, gtype: str, code: str, indicator: str) -> Shown:
        return self.cells.get((bron, gtype, code, indicator), _NOTHING)

    def visible(self, bron: str, gtype: str, code: str, indicator: str) -> float | None:
        return self.get(bron, gtype, code, indicator).visible


def gemeente_sheet_counts() -> dict[str, list[str]]:
    """Per source, the count columns of its per-municipality sheets (their region row is a sum)."""
    out: dict[str, list[str]] = {}
    for src in load_sources().values():
        for sheet in src.sheets:
            if sheet.tidy == "gemeente":
                out.setdefault(src.key, []).extend(c.name for c in sheet.count_columns)
    return out


def sum_rules() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for src in load_sources().values():
        for sheet in src.sheets:
            for rule in sheet.rules:
                if rule.kind == "sum":
                    out.setdefault(src.key, []).append((rule["total"], tuple(rule["parts"])))
    return out


def _num(v: object) -> float | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return float(v)  # type: ignore[arg-type]


def protect_quarter(df: pd.DataFrame, periode: str, catalogue: Catalogue) -> QuarterView:
    """Disclosure control for one quarter of the combined dataset (exact values in, views out)."""
    q = df[df["periode"] == periode]
    region_sums = gemeente_sheet_counts()
    counts: dict[Key, float | None] = {}
    partner: set[Key] = set()
    unknown_totals: set[Key] = set()  # region totals over a partner-suppressed municipality
    measures: dict[Key, float | None] = {}
    status: dict[Key, str] = {}
    for bron, gtype, code, ind, waarde, st in zip(q["bron"], q["gebied_type"], q["gebied_code"], q["indicator"],
                                                  q["waarde"], q["status"], strict=True):
        key = (bron, gtype, code, ind)
        status[key] = st
        soort = catalogue.soort(bron, ind)
        if soort == "aantal":
            counts[key] = _num(waarde)
            is_region_total = gtype == "regio" and (ind in region_sums.get(bron, ()) or has_several(bron))
            if st == "suppressed_by_partner":
                (unknown_totals if is_region_total else partner).add(key)
        else:
            measures[key] = _num(waarde)

    constraints: list[Constraint[Key]] = []
    region_codes = [g.code for g in gemeenten()]

    # Region total = sum over municipalities.
    for bron, inds in region_sums.items():
        for ind in inds:
            total = (bron, *REGIO, ind)
            parts = tuple((bron, "gemeente", c, ind) for c in region_codes if (bron, "gemeente", c, ind) in counts)
            if total in counts and parts:
                constraints.append(Constraint(total, parts))
    # Sources with several organisations: the region total (or, while one is missing, the sum
    # over those that delivered: etl.store.regions) = sum over the municipalities delivered.
    for key in sorted(k for k in counts if k[1] == "regio" and has_several(k[0])):
        bron, _, code, ind = key
        if code == "regio" and ind in region_sums.get(bron, ()):
            continue                        # already above
        parts = tuple(k for k in counts if k[0] == bron and k[1] == "gemeente" and k[3] == ind)
        if parts:
            constraints.append(Constraint(key, parts))
    # Sum rules (kinds of violence, melders) per municipality and region.
    areas = {(k[0], k[1], k[2]) for k in counts if k[1] in ("gemeente", "regio")}
    for bron, rules in sum_rules().items():
        for tot, parts in rules:
            for b, gt, gc in sorted(areas):
                if b != bron:
                    continue
                keys = [(b, gt, gc, p) for p in parts]
                if (b, gt, gc, tot) in counts and all(k in counts for k in keys):
                    constraints.append(Constraint((b, gt, gc, tot), tuple(keys)))

    # WIJ: nazorg counts, subtotals of northern and other wijken, city = sum of wijken.
    if any(k[0] == "wij" for k in counts):
        _wij_cells(counts, measures, constraints, catalogue)

    # Steunpunt total (a key indicator): total = inloop + telefonisch + chat.
    parts = [("vrouwenopvang", *REGIO, p) for p in ("inloopcontacten", "telefonische_contacten", "chatcontacten")]
    if all(p in counts for p in parts):
        vals = [counts[p] for p in parts]
        total_key = ("vrouwenopvang", *REGIO, "steunpunt_contacten")
        counts[total_key] = None if any(v is None for v in vals) else sum(vals)  # type: ignore[misc]
        constraints.append(Constraint(total_key, tuple(parts)))

    derived = _derived(measures, counts, catalogue)
    cells = suppress(counts, constraints, partner=partner, also_hidden=unknown_totals, derived=derived)
    return QuarterView(periode, cells, status, constraints, frozenset(counts))


def _wij_cells(counts: dict[Key, float | None], measures: dict[Key, float | None],
               constraints: list[Constraint[Key]], catalogue: Catalogue) -> None:
    # The city's subtotals are over the city's wijken; a local team's wijken add up to its
    # own municipality (include/wijken.csv, column gemeente).
    wijk_list = wijken_of(CITY[1])
    for gemeente in sorted({w.gemeente for w in wijken()} - {CITY[1]}):
        own = wijken_of(gemeente)
        for ind in sorted({k[3] for k in counts if k[0] == "wij" and k[1] == "wijk" and k[2] in {w.naam for w in own}}):
            total = ("wij", "gemeente", gemeente, ind)
            parts = tuple(("wij", "wijk", w.naam, ind) for w in own if ("wij", "wijk", w.naam, ind) in counts)
            if total in counts and parts:
                constraints.append(Constraint(total, parts))
    # The nazorg counts (with nazorg, known, unknown) are stored by etl.intake.tidy (one
    # definition) and are additive over wijken like every other WIJ count below.
    city_wijken = {w.naam for w in wijk_list}
    additive = sorted({k[3] for k in counts if k[0] == "wij" and k[1] == "wijk" and k[2] in city_wijken})
    for ind in additive:
        groups: dict[tuple[str, str], list[Key]] = {NOORD: [], OVERIG: []}
        for w in wijk_list:
            k = ("wij", "wijk", w.naam, ind)
            if k in counts:
                groups[NOORD if w.noordelijk else OVERIG].append(k)
        sub_keys = []
        for area, members in groups.items():
            sk = ("wij", *area, ind)
            vals = [counts[m] for m in members]
            counts[sk] = None if any(v is None for v in vals) else float(sum(vals))  # type: ignore[arg-type]
            constraints.append(Constraint(sk, tuple(members)))
            sub_keys.append(sk)
        city = ("wij", *CITY, ind)
        if city in counts:
            constraints.append(Constraint(city, tuple(groups[NOORD] + groups[OVERIG])))
            constraints.append(Constraint(city, tuple(sub_keys)))
    # The nazorg share of a subtotal is a derived measure of its summed counts (over known nazorg).
    for area in (NOORD, OVERIG):
        k = counts.get(("wij", *area, "nazorg_aantal"))
        known = counts.get(("wij", *area, "nazorg_bekend"))
        measures[("wij", *area, "nazorg_aandeel")] = (k / known) if k is not None and known else None


def _derived(measures: dict[Key, float | None], counts: dict[Key, float | None],
             catalogue: Catalogue) -> dict[Key, tuple[float | None, tuple[Key, ...]]]:
    """Each measure with the counts it rests on (a share's teller and noemer, a median's cases)."""
    out: dict[Key, tuple[float | None, tuple[Key, ...]]] = {}
    for key, value in measures.items():
        bron, gtype, code, ind = key
        spec = catalogue.get(bron, ind)
        inputs = [(bron, gtype, code, x) for x in (spec.teller, spec.noemer, spec.basis) if x]
        out[key] = (value, tuple(k for k in inputs if k in counts))
    return out


#: Why a four-quarter sum is hidden, in words for the Funnelplots sheet.
SUM_REASON_SMALL = "het totaal over vier kwartalen is zelf 1 tot en met 4"
SUM_REASON_UNKNOWN = "een kwartaal is door de partner als <5 aangeleverd: het totaal is niet bekend"


def protect_sums(views: Sequence[QuarterView], units: Iterable[tuple[str, str, str]], indicators: Sequence[str],
                 totals: dict[tuple[str, str, str], list[tuple[str, str, str]]]) -> dict[Key, Shown]:
    """Disclosure control for sums over several quarters (the four-quarter funnel plots).

    ``units`` are (bron, gebied_type, code); ``totals`` maps a total unit to its parts.
    Summing four quarters exists to get numbers large enough to show, so a sum is judged
    on its own merits: ``<5`` only when the sum itself is 1..4. It must stay consistent
    with the quarterly tables already published: a quarter hidden there must not follow
    from ``sum - the other quarters``. So the audit runs on one system holding every
    count cell of the quarters' own views (with their published state, ``fixed``), every
    equation of those views, ``sum = quarter_1 + ... + quarter_n`` per unit and the
    totals between sums. Only sums can be hidden additionally (``x``); a quarterly cell
    keeps the state it has in its own quarter's workbook.

    A sum is missing when a quarter is missing, and ``x`` when a quarter was delivered
    by the partner as ``<5`` (its exact value is unknown to us too).
    """
    units = list(units)
    sources = {u[0] for u in units}
    counts: dict[tuple, float | None] = {}
    fixed: dict[tuple, str | None] = {}
    constraints: list[Constraint[tuple]] = []
    for v in views:
        for key in sorted(v.count_keys):
            if key[0] not in sources:
                continue
            cell = v.cells[key]
            counts[(v.periode, *key)] = cell.value
            fixed[(v.periode, *key)] = cell.reason
        for c in v.constraints:
            if c.total[0] in sources:
                constraints.append(Constraint((v.periode, *c.total), tuple((v.periode, *p) for p in c.parts)))
    unknown_sums: set[tuple] = set()
    for u in units:
        for ind in indicators:
            key = (*u, ind)
            parts = [v.get(*key) for v in views]
            skey = ("som", *key)
            if any(p.missing for p in parts):
                counts[skey] = None
                continue
            if any(p.value is None for p in parts):  # a partner-suppressed quarter: the sum is not known
                counts[skey] = None
                unknown_sums.add(skey)
                continue
            counts[skey] = float(sum(p.value for p in parts))  # type: ignore[misc]
            if _pins_hidden_quarters(parts):
                unknown_sums.add(skey)
            quarter_keys = tuple((v.periode, *key) for v in views)
            if all(q in counts for q in quarter_keys):
                constraints.append(Constraint(skey, quarter_keys))
    for t, ps in totals.items():
        for ind in indicators:
            c = Constraint(("som", *t, ind), tuple(("som", *p, ind) for p in ps))
            if c.total in counts and all(p in counts for p in c.parts):
                constraints.append(c)
    shown = suppress(counts, constraints, also_hidden=unknown_sums, fixed=fixed)
    return {k[1:]: s for k, s in shown.items() if k[0] == "som"}


def _pins_hidden_quarters(parts: Sequence[Shown]) -> bool:
    """True when ``sum - visible quarters`` (the hidden quarters together) gives a small count away.

    The linear audit catches a sum that reveals one hidden quarter exactly. Two or more
    hidden quarters are not exact, but their total is: when that total is itself 1..4,
    or when it pins every ``<5`` quarter in it (two quarters totalling 2 are both 1),
    the sum is hidden as well.
    """
    hidden = [p for p in parts if p.hidden]
    if len(hidden) < 2:
        return False
    rest = sum(p.value for p in hidden)  # type: ignore[misc]
    if 1 <= rest <= 4:
        return True
    if all(p.shown == "<5" for p in hidden):
        return rest in (len(hidden), 4 * len(hidden))
    return False


def sum_hidden_reason(views: Sequence[QuarterView], key: Key, cell: Shown) -> str:
    """Why a four-quarter sum is hidden, in Dutch ("" when it is shown)."""
    if not cell.hidden:
        return ""
    if cell.shown == "<5":
        return SUM_REASON_SMALL
    parts = [(v.periode, v.get(*key)) for v in views]
    if any(p.hidden and p.value is None for _, p in parts):
        return SUM_REASON_UNKNOWN
    hidden = [q for q, p in parts if p.hidden]
    if len(hidden) == 1:
        return f"het afgeschermde cijfer van {hidden[0]} zou uit dit totaal terug te rekenen zijn"
    if hidden:
        return (f"de afgeschermde cijfers van {', '.join(hidden[:-1])} en {hidden[-1]} zouden samen uit dit "
                "totaal terug te rekenen zijn en een <5 verraden")
    return "anders is een afgeschermd cijfer elders terug te rekenen uit de totalen"  # via the region totals
