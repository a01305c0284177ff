"""Everything the workbook needs for one quarter, gathered once before any sheet is written.

The sheets only format: they never query the store or recompute suppression. That
keeps each sheet module small and makes every number in the workbook come from the
same protected views (``etl.report.protect``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import pandas as pd

from etl.core.catalogue import Catalogue, load_catalogue
from etl.core.config import SOURCES, DataDirs
from etl.core.organisations import Organisation, has_several, organisation, organisations
from etl.core.quarters import parse_quarter, shift
from etl.core.reference import Gemeente, Wijk, gemeente_names, gemeenten, inhabitants, wijken
from etl.core.sources import load_sources
from etl.report.protect import QuarterView, protect_quarter
from etl.store.dataset import load
from etl.store.db import Store
from etl.store.provenance import quarter_records

TZ = ZoneInfo("Europe/Amsterdam")
HISTORY = 8  # quarters in the trend charts and XmR series


@dataclass(frozen=True)
class DeliveryInfo:
    """One delivery that covered the quarter, as the Voorblad and Datakwaliteit show it."""

    levering_id: str
    bron: str
    organisatie: str
    bestandsnaam: str
    sha256: str
    ontvangen_op: dt.datetime
    actueel: bool
    vervangen_door: str | None
    problemen: list[dict]
    validatie: dict

    @property
    def hash_prefix(self) -> str:
        return self.sha256[:12]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problemen if p.get("severity") == "waarschuwing"]


def problem_cells(p: dict) -> list[str]:
    """The Excel cell addresses of a problem (``cells``; ``cell`` / ``cel`` when a single one)."""
    cells = list(p.get("cells") or [])
    for name in ("cell", "cel"):
        if p.get(name) and p[name] not in cells:
            cells.append(str(p[name]))
    return cells


@dataclass
class ReportContext:
    periode: str
    made_at: dt.datetime
    quarters: list[str]
    history: pd.DataFrame            # exact values, all quarters of ``quarters``
    views: dict[str, QuarterView]    # protected cells per quarter
    deliveries: list[DeliveryInfo]
    catalogue: Catalogue
    # (bron, gebied_type, gebied_code, indicator) -> (file name, provenance record); etl.store.provenance
    herkomst: dict[tuple[str, str, str, str], tuple[str, dict]] = field(default_factory=dict)

    # -- the quarter -------------------------------------------------------------------

    @property
    def view(self) -> QuarterView:
        return self.views[self.periode]

    @cached_property
    def dataset(self) -> pd.DataFrame:
        """The quarter's combined dataset (exact values: for the Data sheet via the view only)."""
        return self.history[self.history["periode"] == self.periode].reset_index(drop=True)

    @property
    def year(self) -> int:
        return parse_quarter(self.periode)[0]

    @property
    def previous(self) -> str:
        return shift(self.periode, -1)

    @property
    def last_year(self) -> str:
        return shift(self.periode, -4)

    @property
    def current_deliveries(self) -> list[DeliveryInfo]:
        return [d for d in self.deliveries if d.actueel]

    def delivered(self, bron: str) -> bool:
        return any(d.bron == bron for d in self.current_deliveries)

    @cached_property
    def missing_sources(self) -> list[str]:
        return [b for b in SOURCES if not self.delivered(b)]

    @cached_property
    def missing_parts(self) -> list[str]:
        """Dutch sentences for what an accepted delivery left out (a sheet, a municipality)."""
        out: list[str] = []
        sources = load_sources()
        q = self.dataset
        for bron in SOURCES:
            if not self.delivered(bron):
                continue
            src = sources[bron]
            present = set(q.loc[q["bron"] == bron, "indicator"])
            for sheet in src.sheets:
                if sheet.available_from and parse_quarter(self.periode) < parse_quarter(sheet.available_from):
                    continue
                cols = [c.name for c in sheet.value_columns]
                if cols and not present.intersection(cols) and sheet.tidy in ("gemeente", "regio"):
                    out.append(f"{src.naam}: tabblad '{sheet.name}' ontbreekt — geen 0; die cijfers staan als 'ontbreekt'.")
                if sheet.all_gemeenten:
                    have = set(q.loc[(q["bron"] == bron) & (q["gebied_type"] == "gemeente"), "gebied_code"])
                    lacking = [g.naam for g in gemeenten() if g.code not in have]
                    if lacking:
                        out.append(f"{src.naam}: geen cijfers voor {', '.join(lacking)} — geen 0.")
        return out

    def delivery_for(self, bron: str) -> DeliveryInfo | None:
        """The delivery the quarter's figures of ``bron`` come from (the latest current one)."""
        current = [d for d in self.current_deliveries if d.bron == bron]
        return current[-1] if current else None

    def warned_deliveries(self, bron: str) -> list[DeliveryInfo]:
        """The current deliveries of ``bron`` (one per organisation) accepted with warnings."""
        return [d for d in self.current_deliveries if d.bron == bron and d.warnings]

    @cached_property
    def missing_organisations(self) -> dict[str, list[Organisation]]:
        """Per source with several organisations of which at least one delivered: those that did not.

        Their municipalities have no figures, and the region total of that source is
        ``ontbreekt`` (etl.store.regions); a source nobody delivered is in ``missing_sources``.
        """
        out: dict[str, list[Organisation]] = {}
        for bron in SOURCES:
            if not has_several(bron) or not self.delivered(bron):
                continue
            have = {d.organisatie for d in self.current_deliveries if d.bron == bron}
            lacking = [o for o in organisations(bron) if o.code not in have]
            if lacking:
                out[bron] = lacking
        return out

    def organisation_name(self, d: DeliveryInfo) -> str:
        """How a delivery's sender is named: the organisation where a source has several."""
        if has_several(d.bron) and d.organisatie:
            try:
                return organisation(d.bron, d.organisatie).naam
            except KeyError:
                return d.organisatie
        return self.source_name(d.bron)

    @cached_property
    def unknown_by_warning(self) -> dict[str, dict[str, list[str]]]:
        """Per source whose used delivery was accepted with warnings: indicator -> areas left unknown.

        An accepted delivery makes a figure ``ontbreekt`` only through a cell it could not
        read (each such cell is a warning in the receipt), so the figures of that source
        that are ``missing`` in the dataset are what its warnings made unknown. Sheets
        that are absent altogether have no rows and are reported by ``missing_parts``.
        """
        out: dict[str, dict[str, list[str]]] = {}
        q = self.dataset
        for bron in SOURCES:
            warned = {d.levering_id for d in self.warned_deliveries(bron)}
            if not warned:
                continue
            rows = q[(q["bron"] == bron) & (q["status"] == "missing") & q["levering_id"].isin(warned)
                     & (q["toelichting"] == "")]    # a region total missing for want of a team is not a warning's doing
            found: dict[str, list[str]] = {}
            for gtype, code, ind in zip(rows["gebied_type"], rows["gebied_code"], rows["indicator"], strict=True):
                found.setdefault(ind, []).append(self.area_name(gtype, code))
            out[bron] = found
        return out

    def warning_note(self, bron: str, indicator: str) -> str:
        """Toelichting for a figure that is ``ontbreekt`` because of a warning ("" otherwise)."""
        if indicator not in self.unknown_by_warning.get(bron, {}):
            return ""
        n = sum(len(d.warnings) for d in self.warned_deliveries(bron))
        return (f"ontbreekt door {'een waarschuwing' if n == 1 else 'waarschuwingen'} bij de levering van "
                f"{self.source_name(bron)} (zie Datakwaliteit)")

    def area_name(self, gtype: str, code: str) -> str:
        if gtype == "gemeente":
            return self.gemeente_naam(code)
        if gtype == "regio":
            return "regio" if code == "regio" else "regio (geleverde organisaties)"
        if gtype == "wijkgroep":
            return {"noordelijk": "noordelijke wijken", "overig": "overige wijken"}.get(code, code)
        return code

    # -- reference data ----------------------------------------------------------------

    @property
    def gemeenten(self) -> tuple[Gemeente, ...]:
        return gemeenten()

    @property
    def wijken(self) -> tuple[Wijk, ...]:
        return wijken()

    def gemeente_naam(self, code: str) -> str:
        return gemeente_names().get(code, code)

    def population(self, code: str, periode: str | None = None) -> int | None:
        return inhabitants(code, parse_quarter(periode or self.periode)[0])

    def region_population(self, periode: str | None = None) -> int | None:
        pops = [self.population(g.code, periode) for g in self.gemeenten]
        return None if any(p is None for p in pops) else sum(pops)  # type: ignore[arg-type]

    def source_name(self, bron: str) -> str:
        return load_sources()[bron].naam


def default_made_at() -> dt.datetime:
    return dt.datetime.now(TZ).replace(microsecond=0)


def gather(periode: str, dirs: DataDirs, made_at: dt.datetime | None = None) -> ReportContext:
    """Read the store once: the quarter and its seven predecessors, and the deliveries."""
    catalogue = load_catalogue()
    quarters = [shift(periode, k) for k in range(-(HISTORY - 1), 1)]
    history = load(quarters, dirs)
    views = {q: protect_quarter(history, q, catalogue) for q in quarters}
    deliveries: list[DeliveryInfo] = []
    herkomst: dict = {}
    if Store.exists(dirs):
        with Store.open(dirs) as store:
            herkomst = quarter_records(store, periode)
            for d in store.quarter_deliveries(periode):
                deliveries.append(DeliveryInfo(
                    levering_id=d["levering_id"], bron=d["bron"], organisatie=d["organisatie"],
                    bestandsnaam=d["bestandsnaam"],
                    sha256=d["sha256"], ontvangen_op=_parse_time(d["ontvangen_op"]), actueel=bool(d["actueel"]),
                    vervangen_door=d["vervangen_door"], problemen=json.loads(d["problemen"] or "[]"),
                    validatie=json.loads(d["validatie"] or "{}")))
    deliveries.sort(key=lambda d: (SOURCES.index(d.bron) if d.bron in SOURCES else 99, d.ontvangen_op, d.levering_id))
    made = made_at or default_made_at()
    if made.tzinfo is None:
        made = made.replace(tzinfo=TZ)
    return ReportContext(periode=periode, made_at=made.astimezone(TZ), quarters=quarters, history=history,
                         views=views, deliveries=deliveries, catalogue=catalogue, herkomst=herkomst)


def _parse_time(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(TZ)


def local_time(t: dt.datetime) -> str:
    """``24-11-2026 17:56``: how a Dutch reader writes a moment."""
    return t.astimezone(TZ).strftime("%d-%m-%Y %H:%M")
