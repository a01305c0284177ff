"""From an accepted delivery to rows of the combined dataset (contract: "The combined dataset").

One row per value: (periode, bron, gebied_type, gebied_code, indicator, waarde, status).
Derived indicators (WIJ case figures, occupancy, shares) and region totals are computed
here, once, when a delivery is accepted; the store keeps them with the delivery so that
superseding a delivery replaces its derived values too.

Region totals are honest: a total over a municipality the partner suppressed (``<5``)
or left out is not a number we know, so it is stored as missing with the reason in
``status``, never as a partial sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from etl.core.organisations import Organisation, original
from etl.core.problems import Problem, warning
from etl.core.quarters import days_in_quarter, quarter_end, quarter_start
from etl.core.reference import gemeenten
from etl.core.sources import Source
from etl.intake.provenance import attach as provenance_of
from etl.intake.read import ReadResult, SheetData

COLUMNS = ["periode", "bron", "gebied_type", "gebied_code", "indicator", "waarde", "status"]
PROVENANCE = "herkomst"   # one record per row: where the value came from (etl.intake.provenance)
OK, SUPPRESSED, MISSING = "ok", "suppressed_by_partner", "missing"
REGIO = "regio"
ORGANISATIE = "organisatie"   # an organisation's own total, where several together cover the region
CITY = "GM0014"


@dataclass(frozen=True)
class Value:
    periode: str
    bron: str
    gebied_type: str
    gebied_code: str
    indicator: str
    waarde: float | None
    status: str


def _v(periode, bron, gtype, gcode, indicator, value, status=None) -> Value:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return Value(periode, bron, gtype, gcode, indicator, None, status or MISSING)
    return Value(periode, bron, gtype, gcode, indicator, float(value), status or OK)


def _ratio(num: Value, den: Value, indicator: str) -> Value:
    if num.waarde is None or den.waarde is None:
        status = SUPPRESSED if SUPPRESSED in (num.status, den.status) else MISSING
        return Value(num.periode, num.bron, num.gebied_type, num.gebied_code, indicator, None, status)
    if den.waarde == 0:
        return Value(num.periode, num.bron, num.gebied_type, num.gebied_code, indicator, None, MISSING)
    return Value(num.periode, num.bron, num.gebied_type, num.gebied_code, indicator, num.waarde / den.waarde, OK)


def _cell_values(sd: SheetData, gtype: str, code_of) -> Iterator[Value]:
    suppressed = {(c, r) for c, rows in sd.suppressed.items() for r in rows}
    names = [col.name for col in sd.spec.value_columns]
    # Plain dicts, not iterrows(): a Series per row and a lookup per cell cost ~40 us a cell.
    for row_no, row in zip(sd.frame.index, sd.frame.to_dict("records"), strict=True):
        for name in names:
            status = SUPPRESSED if (name, row_no) in suppressed else None
            yield _v(row["periode"], "", gtype, code_of(row), name, row[name], status)


def _gemeente_level(sd: SheetData, bron: str, org: Organisation) -> list[Value]:
    """Per municipality, and the region totals when this organisation covers the region.

    An organisation that covers part of the region (one of several, include/organisaties.yaml)
    gets no region rows from its own file: the region is the sum over organisations,
    assembled from the current deliveries of all of them (etl.store.dataset)."""
    values = [Value(v.periode, bron, v.gebied_type, v.gebied_code, v.indicator, v.waarde, v.status)
              for v in _cell_values(sd, "gemeente", lambda row: row["gemeente"])]
    region_codes = list(org.gemeenten)
    periodes = sorted({v.periode for v in values})
    if sd.spec.absent_gemeente == "zero":
        # The partner lists only the municipalities that had clients (include/sources.yaml):
        # no row is 0, stored as 0, so that the region total is the sum of the rows and the
        # municipality's own figure is 0 too. The receipt names them (validate.contract_checks).
        have = {(v.periode, v.gebied_code) for v in values}
        values += [Value(periode, bron, "gemeente", code, col.name, 0.0, OK)
                   for periode in periodes for code in region_codes if (periode, code) not in have
                   for col in sd.spec.value_columns]
    out = list(values)
    by_key = {(v.periode, v.gebied_code, v.indicator): v for v in values}
    for periode in periodes if org.covers_region else ():
        for col in sd.spec.value_columns:
            parts = [by_key.get((periode, code, col.name)) for code in region_codes]
            if any(p is None for p in parts):
                out.append(Value(periode, bron, REGIO, REGIO, col.name, None, MISSING))
            elif any(p.status == SUPPRESSED for p in parts):
                out.append(Value(periode, bron, REGIO, REGIO, col.name, None, SUPPRESSED))
            elif any(p.waarde is None for p in parts):
                out.append(Value(periode, bron, REGIO, REGIO, col.name, None, MISSING))
            else:
                out.append(Value(periode, bron, REGIO, REGIO, col.name, float(sum(p.waarde for p in parts)), OK))
    out.extend(_shares(sd, out))
    return out


def _regio_level(sd: SheetData, bron: str, org: Organisation) -> list[Value]:
    """One row per quarter: the region's figure, or the organisation's own total
    (gebied_type ``organisatie``) when it is one of several that together cover the region."""
    gtype, code = (REGIO, REGIO) if org.covers_region else (ORGANISATIE, org.code)
    out = [Value(v.periode, bron, gtype, code, v.indicator, v.waarde, v.status)
           for v in _cell_values(sd, gtype, lambda row: code)]
    out.extend(_shares(sd, out))
    if sd.spec.name == "Capaciteit":
        out.extend(_occupancy(out))
    return out


def _shares(sd: SheetData, values: list[Value]) -> list[Value]:
    by_key = {(v.periode, v.gebied_type, v.gebied_code, v.indicator): v for v in values}
    out = []
    for share in sd.spec.shares:
        for (periode, gtype, gcode, ind), num in list(by_key.items()):
            if ind != share.numerator:
                continue
            den = by_key.get((periode, gtype, gcode, share.denominator))
            if den is not None:
                out.append(_ratio(num, den, share.indicator))
    return out


def _occupancy(values: list[Value]) -> list[Value]:

    by = {(v.periode, v.indicator): v for v in values}
    out = []
    for periode in sorted({v.periode for v in values}):
        places, occupied = by.get((periode, "plaatsen_crisisopvang")), by.get((periode, "bezette_plaatsdagen"))
        if places is None or occupied is None:
            continue
        capacity = None if places.waarde is None else Value(periode, places.bron, REGIO, REGIO, "capaciteit",
                                                            places.waarde * days_in_quarter(periode), OK)
        if capacity is None:
            out.append(Value(periode, places.bron, REGIO, REGIO, "bezettingsgraad", None, places.status))
        else:
            out.append(_ratio(occupied, capacity, "bezettingsgraad"))
    return out


def _wij_cases(sd: SheetData, bron: str, org: Organisation) -> list[Value]:
    """Derived WIJ indicators per wijk and for the whole city, per quarter.

    Durations are of the cases closed in the quarter (einddatum - startdatum in days),
    percentiles by linear interpolation (numpy's default), as the contract specifies.
    """
    f = sd.frame
    out: list[Value] = []
    # Column-wise, not per value: the city-wide group of a 200k-row file is 200k cases.
    suppressed_kids = np.asarray(list(sd.suppressed.get("aantal_kinderen", ())), dtype=np.int64)
    for periode, q in f.groupby("periode", sort=True):
        qs, qe = pd.Timestamp(quarter_start(periode)), pd.Timestamp(quarter_end(periode))
        groups = [("wijk", w, g) for w, g in q.groupby("wijk", sort=True)] + [("gemeente", home_of(org), q)]
        for gtype, code, g in groups:
            new = g["startdatum"].between(qs, qe)
            closed = g["einddatum"].notna() & g["einddatum"].between(qs, qe)
            durations = (g.loc[closed, "einddatum"] - g.loc[closed, "startdatum"]).dt.days.to_numpy(dtype=float)
            nazorg_closed = g.loc[closed, "nazorg"]
            nazorg_known = nazorg_closed.dropna()

            def add(ind, val, status=None, gtype=gtype, code=code, periode=periode):
                out.append(_v(periode, bron, gtype, code, ind, val, status))

            add("casussen_actief", len(g))
            add("casussen_nieuw", int(new.sum()))
            add("casussen_afgesloten", int(closed.sum()))
            add("duur_mediaan_dagen", float(np.percentile(durations, 50)) if len(durations) else None)
            add("duur_p90_dagen", float(np.percentile(durations, 90)) if len(durations) else None)
            # Nazorg: one definition, here. The share is over the closed cases whose nazorg
            # is known; the count with nazorg, that n and the number unknown are stored
            # beside it, and the report uses these (never share x all closed cases).
            with_nazorg = int(nazorg_known.astype(bool).sum())             # bool(x) per value, in C
            add("nazorg_aantal", with_nazorg)
            add("nazorg_bekend", len(nazorg_known))
            add("nazorg_onbekend", int(len(nazorg_closed) - len(nazorg_known)))
            add("nazorg_aandeel", with_nazorg / len(nazorg_known) if len(nazorg_known) else None)
            referred = g["doorverwezen_veilig_thuis"]
            add("doorverwezen_veilig_thuis", None if referred.isna().any() else int(referred.astype(bool).sum()))
            kids = g["aantal_kinderen"]
            supp = bool(len(suppressed_kids)) and bool(np.isin(g.index.to_numpy(), suppressed_kids).any())
            if supp:
                add("kinderen_betrokken", None, SUPPRESSED)
            else:
                add("kinderen_betrokken", None if kids.isna().any() else int(kids.sum()))
    return out


def _wij_groups(sd: SheetData, bron: str, org: Organisation) -> list[Value]:
    f = sd.frame
    out: list[Value] = []
    supp_rows = {c: set(rows) for c, rows in sd.suppressed.items()}
    for periode, q in f.groupby("periode", sort=True):
        groups = [("wijk", w, g) for w, g in q.groupby("wijk", sort=True)] + [("gemeente", home_of(org), q)]
        for gtype, code, g in groups:
            for col, ind in (("groepen", "groepsaanbod_groepen"), ("deelnemers", "groepsaanbod_deelnemers")):
                if supp_rows.get(col, set()) & set(g.index):
                    out.append(_v(periode, bron, gtype, code, ind, None, SUPPRESSED))
                elif g[col].isna().any():
                    out.append(_v(periode, bron, gtype, code, ind, None, MISSING))
                else:
                    out.append(_v(periode, bron, gtype, code, ind, float(g[col].sum())))
    return out


_TIDY = {
    "gemeente": _gemeente_level,
    "regio": _regio_level,
    "wij_casussen": _wij_cases,
    "wij_groepsaanbod": _wij_groups,
}


#: Derived figures that have no value when their base count is 0: nothing is unknown then.
_NEEDS_BASE = {"duur_mediaan_dagen": "casussen_afgesloten", "duur_p90_dagen": "casussen_afgesloten",
               "nazorg_aandeel": "casussen_afgesloten"}
_AREA_NL = {"regio": "regio", "gemeente": "gemeente", "wijk": "wijk"}


def unknown_figures(source: Source, read: ReadResult, df: pd.DataFrame) -> list[Problem]:
    """Warnings for the figures this delivery leaves unknown, per sheet, naming the cells why.

    The per-cell warnings of the reader say what was found; this says what it makes
    unknown, so that no accepted delivery turns a figure into ``ontbreekt`` or ``x``
    without a word in the receipt (and the workbook, which reads these warnings).
    """
    problems: list[Problem] = []
    if df.empty:
        return problems
    value = {(r.periode, r.gebied_type, r.gebied_code, r.indicator): r.waarde
             for r in df.itertuples(index=False)}
    by_sheet_indicators = {sd.spec.name: _sheet_indicators(sd) for sd in read.sheets.values()}
    causes = {name: tuple(c for p in read.problems if p.sheet == sd.found_name
                          and p.code in ("tekst_gelezen_als_onbekend", "leeg_gelezen_als_onbekend", "afgeschermd_lt5")
                          for c in p.cells)
              for name, sd in read.sheets.items()}
    for name, sd in read.sheets.items():
        own = by_sheet_indicators[name]
        bad = df[(df["status"] != OK) & df["indicator"].isin(own)]
        lines: list[str] = []
        for (periode, status), group in bad.groupby(["periode", "status"], sort=True):
            items = []
            for r in group.itertuples(index=False):
                base = _NEEDS_BASE.get(r.indicator)
                if base and value.get((r.periode, r.gebied_type, r.gebied_code, base)) in (0, 0.0, None):
                    continue        # no closed cases: there is no duration or share to know
                area = REGIO if r.gebied_type == REGIO else f"{_AREA_NL.get(r.gebied_type, r.gebied_type)} {_area_name(r.gebied_code)}"
                items.append(f"{_label(r.bron or source.key, r.indicator)} ({area})")
            if items:
                word = "afgeschermd ('x' of '<5')" if status == SUPPRESSED else "onbekend ('ontbreekt')"
                lines.append(f"{periode}, {word}: {', '.join(items[:12])}" + (f" en nog {len(items) - 12}" if len(items) > 12 else ""))
        if lines:
            n_cells = len(causes[name])
            problems.append(warning(
                "cijfer_onbekend",
                f"Door deze levering zijn in tabblad '{sd.found_name}' deze cijfers niet bekend in de monitor: "
                + "; ".join(lines) + "." + (f" Oorzaak: de lege, afgeschermde of 'onbekend'-cellen hierboven ({n_cells})." if n_cells else ""),
                "Vul de ontbrekende aantallen aan en lever het bestand opnieuw aan als u ze heeft; anders geen actie nodig.",
                sheet=sd.found_name, cells=causes[name][:200],
                extra={"onbekende_cijfers": [{"periode": r.periode, "gebied_type": r.gebied_type, "gebied_code": r.gebied_code,
                                              "indicator": r.indicator, "status": r.status}
                                             for r in bad.itertuples(index=False)][:500]}))
    return problems


@cache
def _labels() -> dict[tuple[str, str], str]:
    """Dutch labels of the dataset indicators (include/indicators.yaml), for receipts."""
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "include" / "indicators.yaml").read_text(encoding="utf-8"))
    out: dict[tuple[str, str], str] = {}
    for block in ("indicatoren", "hulpgrootheden"):
        for bron, items in (raw.get(block) or {}).items():
            out.update({(bron, key): d.get("label", key) for key, d in (items or {}).items()})
    return out


def _label(bron: str, indicator: str) -> str:
    return _labels().get((bron, indicator), indicator)


def _area_name(code: str) -> str:
    for g in gemeenten():
        if g.code == code:
            return g.naam
    return code


def _sheet_indicators(sd: SheetData) -> set[str]:
    if sd.spec.tidy == "wij_casussen":
        return {"casussen_actief", "casussen_nieuw", "casussen_afgesloten", "duur_mediaan_dagen", "duur_p90_dagen",
                "nazorg_aantal", "nazorg_bekend", "nazorg_onbekend", "nazorg_aandeel", "doorverwezen_veilig_thuis",
                "kinderen_betrokken"}
    if sd.spec.tidy == "wij_groepsaanbod":
        return {"groepsaanbod_groepen", "groepsaanbod_deelnemers"}
    names = {c.name for c in sd.spec.value_columns} | {s.indicator for s in sd.spec.shares}
    if sd.spec.name == "Capaciteit":
        names.add("bezettingsgraad")
    return names


def home_of(org: Organisation) -> str:
    """The municipality a local team's case rows add up to (WIJ Groningen: the city)."""
    return org.home


def tidy_delivery(source: Source, read: ReadResult, org: Organisation | None = None) -> pd.DataFrame:
    """All dataset rows of one accepted delivery (every quarter it holds), for the area of
    the organisation that delivered it (default: the source's first organisation)."""
    org = org or original(source.key)
    rows: list[Value] = []
    herkomst: list[dict] = []
    for sd in read.sheets.values():
        if sd.frame.empty:
            continue
        built = _TIDY[sd.spec.tidy](sd, source.key, org)
        rows.extend(built)
        herkomst.extend(provenance_of(sd, built))
    df = pd.DataFrame([v.__dict__ for v in rows], columns=COLUMNS)
    df[PROVENANCE] = pd.Series(herkomst, index=df.index, dtype="object")
    if df.duplicated(["periode", "gebied_type", "gebied_code", "indicator"]).any():
        raise ValueError("tidy rows are not unique; a source description maps two sheets to one indicator")
    return df.sort_values(["periode", "gebied_type", "gebied_code", "indicator"]).reset_index(drop=True)
