"""The deliveries matrix: partner by quarter, the state of each quarter's current delivery.

Plain functions over plain data, so the rules are tested without FastAPI or Airflow:
``build_matrix`` takes the store's rows (``Store.delivery_summaries`` and
``Store.quarter_links``) and a date; ``load_matrix`` and ``load_detail`` read the store
and, for a detail, the delivery's own receipt in ``outbox/``. Nothing here opens a
partner file, and a delivery kept in the restricted quarantine is shown as nothing
more than "geweigerd: persoonsgegevens" (its name could itself be personal data).

The state of a cell, in order of precedence:

* a current accepted delivery that replaced an earlier one  -> ``vervangen``
* a current accepted delivery with warnings                  -> ``waarschuwingen``
* a current accepted delivery                                -> ``aangenomen``
* no accepted delivery, but a rejected one for the quarter   -> ``afgekeurd``
* nothing, and the deadline (quarter end + ``deadline_dagen``) has passed -> ``te_laat``
* nothing yet, deadline still ahead                          -> ``ontbreekt``

Extra facts (warnings on a replacement, received after the deadline, a later attempt
that was rejected) are notes on the cell, in words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from etl.core.config import SOURCES, DataDirs
from etl.core.quarters import QUARTER_RE, label_nl, quarter_end, quarter_range
from etl.core.status import DeliveryStatus

TZ = ZoneInfo("Europe/Amsterdam")

# state -> (symbol, label): the symbol and the word carry the meaning, the colour repeats it.
STATES: dict[str, tuple[str, str]] = {
    "aangenomen": ("✓", "aangenomen"),
    "waarschuwingen": ("⚠", "aangenomen met waarschuwingen"),
    "vervangen": ("↻", "vervangen"),
    "afgekeurd": ("✗", "afgekeurd"),
    "te_laat": ("!", "te laat"),
    "ontbreekt": ("–", "ontbreekt"),
}
RESTRICTED_TEXT = "geweigerd: persoonsgegevens"
RESTRICTED_OTHER_TEXT = "afgeschermd bewaard"


@dataclass(frozen=True)
class Cell:
    bron: str
    periode: str
    state: str
    symbol: str
    label: str
    levering_id: str | None
    deadline: str
    notes: tuple[str, ...] = ()
    organisatie: str = ""


@dataclass(frozen=True)
class Row:
    bron: str
    naam: str
    cells: tuple[Cell, ...]
    # Refusals that cannot be placed in a quarter, and every restricted one: text only.
    overige: tuple[dict, ...] = ()
    #: The organisation of this row; empty where the source's deliveries are one row.
    organisatie: str = ""


@dataclass(frozen=True)
class Matrix:
    quarters: tuple[str, ...]
    rows: tuple[Row, ...]
    today: str
    legend: tuple[tuple[str, str, str], ...] = field(
        default=tuple((k, s, lbl) for k, (s, lbl) in STATES.items()))

    def cell(self, bron: str, periode: str, organisatie: str | None = None) -> Cell:
        """The cell of a source's quarter: of its first row, or of one organisation's row."""
        for r in self.rows:
            if r.bron == bron and organisatie in (None, r.organisatie):
                for c in r.cells:
                    if c.periode == periode:
                        return c
        raise KeyError((bron, periode))

    def to_json(self) -> dict:
        return {
            "vandaag": self.today,
            "kwartalen": list(self.quarters),
            "legenda": [{"status": k, "symbool": s, "tekst": lbl} for k, s, lbl in self.legend],
            "partners": [
                {"bron": r.bron, "organisatie": r.organisatie, "naam": r.naam, "overige": list(r.overige),
                 "kwartalen": [{**asdict(c), "notes": list(c.notes)} for c in r.cells]}
                for r in self.rows],
        }


def is_restricted(d: dict) -> bool:
    """Kept in the restricted quarantine: personal data, or a file that crashed the intake."""
    return bool(d["persoonsgegevens"]) or str(d.get("opgeslagen_als") or "").startswith("quarantine-restricted")


def restricted_text(d: dict) -> str:
    return RESTRICTED_TEXT if d["persoonsgegevens"] else RESTRICTED_OTHER_TEXT


def deadline(deadline_dagen: int, periode: str) -> dt.date:
    """Last day a delivery for ``periode`` is on time (the rule of etl.notify.mail.deadline)."""
    return quarter_end(periode) + dt.timedelta(days=deadline_dagen)


def local_date(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).astimezone(TZ).date()


def _warnings(d: dict) -> list[dict]:
    return [p for p in d["problemen"] if p.get("severity") != "fout"]


def build_matrix(deliveries: list[dict], links: list[dict], *, today: dt.date,
                 sources: dict[str, tuple[str, int]], quarters: list[str] | None = None,
                 organisations: dict[str, list[tuple[str, str]]] | None = None) -> Matrix:
    """The matrix from the store's rows; ``sources`` maps bron -> (name, deadline_dagen).

    ``organisations`` maps a source with several organisations to its (code, name) pairs:
    such a source gets one row per organisation, so a local team that has not delivered
    shows as "te laat" instead of hiding behind another team's delivery. A source not in
    it is one row whatever the organisation of its deliveries. A refusal that belongs to
    no organisation (dropped in the source's shared root) is listed under the first row.

    Quarters default to every quarter from the first to the last one any delivery
    covers (gaps filled, so a missing quarter shows as a column of "te laat").
    """
    organisations = organisations or {}
    by_id = {d["levering_id"]: d for d in deliveries}
    if quarters is None:
        seen = {lk["periode"] for lk in links}
        seen |= {p for d in deliveries if not is_restricted(d) for p in d["periodes"] if QUARTER_RE.match(p)}
        quarters = quarter_range(min(seen), max(seen)) if seen else []

    codes = {bron: [c for c, _ in orgs] for bron, orgs in organisations.items()}

    def unplaced(d: dict) -> bool:
        """A delivery of a shared source that belongs to none of its organisations."""
        return bool(codes.get(d["bron"])) and d.get("organisatie") not in codes[d["bron"]]

    def row_key(bron: str, organisatie: str | None) -> tuple[str, str]:
        known = codes.get(bron)
        if not known:
            return bron, ""
        return bron, organisatie if organisatie in known else known[0]

    current = {(*row_key(lk["bron"], lk.get("organisatie")), lk["periode"]): lk["levering_id"]
               for lk in links if lk["actueel"]}
    replaced: dict[tuple[str, str], list[str]] = {}
    for lk in links:
        if lk["vervangen_door"]:
            replaced.setdefault((lk["vervangen_door"], lk["periode"]), []).append(lk["levering_id"])
    rejected: dict[tuple[str, str, str], list[dict]] = {}
    for d in deliveries:                                   # oldest first
        if d["status"] == DeliveryStatus.REJECTED and not is_restricted(d) and not unplaced(d):
            for p in d["periodes"]:
                rejected.setdefault((*row_key(d["bron"], d.get("organisatie")), p), []).append(d)

    bronnen = list(sources) + sorted({d["bron"] for d in deliveries} - set(sources))
    rows = []
    for bron in bronnen:
        naam, dagen = sources.get(bron, (bron, 21))
        for code, row_naam in organisations.get(bron) or [("", naam)]:
            key = (bron, code)
            cells = []
            for q in quarters:
                dl = deadline(dagen, q)
                notes: list[str] = []
                lid = current.get((*key, q))
                refused = rejected.get((*key, q), [])
                if lid and lid in by_id:
                    d = by_id[lid]
                    warn = _warnings(d)
                    earlier = replaced.get((lid, q), [])
                    state = "vervangen" if earlier else ("waarschuwingen" if warn else "aangenomen")
                    if earlier:
                        notes.append(f"vervangt {len(earlier)} eerdere levering" + ("en" if len(earlier) > 1 else ""))
                    if warn:
                        notes.append(f"{len(warn)} waarschuwing" + ("en" if len(warn) > 1 else ""))
                    if local_date(d["ontvangen_op"]) > dl:
                        notes.append(f"ontvangen na de deadline ({dl:%d-%m-%Y})")
                    later = [r for r in refused if r["ontvangen_op"] > d["ontvangen_op"]]
                    if later:
                        notes.append("een latere levering is afgekeurd")
                elif refused:
                    state, lid = "afgekeurd", refused[-1]["levering_id"]
                    if len(refused) > 1:
                        notes.append(f"{len(refused)} pogingen afgekeurd")
                    if today > dl:
                        notes.append(f"deadline verstreken ({dl:%d-%m-%Y})")
                else:
                    lid = None
                    state = "te_laat" if today > dl else "ontbreekt"
                    notes.append(f"deadline {dl:%d-%m-%Y}")
                symbol, label = STATES[state]
                cells.append(Cell(bron, q, state, symbol, label, lid, dl.isoformat(), tuple(notes), code))
            overige = []
            for d in deliveries:
                if d["status"] != DeliveryStatus.REJECTED or row_key(d["bron"], d.get("organisatie")) != key:
                    continue
                if is_restricted(d):
                    overige.append({"tekst": restricted_text(d), "ontvangen_op": d["ontvangen_op"]})
                elif unplaced(d):
                    overige.append({"tekst": "afgekeurd, niet in de map van een organisatie",
                                    "ontvangen_op": d["ontvangen_op"], "levering_id": d["levering_id"]})
                elif not any(p in quarters for p in d["periodes"]):
                    overige.append({"tekst": "afgekeurd, zonder herkenbaar kwartaal", "ontvangen_op": d["ontvangen_op"],
                                    "levering_id": d["levering_id"]})
            rows.append(Row(bron, row_naam, tuple(cells), tuple(overige), code))
    return Matrix(tuple(quarters), tuple(rows), today.isoformat())


def organisation_table() -> dict[str, list[tuple[str, str]]]:
    """Sources with several organisations -> their (code, name): one matrix row each."""
    from etl.core.organisations import has_several, organisations

    return {b: [(o.code, o.naam) for o in organisations(b)] for b in SOURCES if has_several(b)}


def source_table() -> dict[str, tuple[str, int]]:
    from etl.core.sources import load_sources

    known = load_sources()
    return {b: (known[b].naam, known[b].deadline_dagen) if b in known else (b, 21) for b in SOURCES}


def today_local() -> dt.date:
    return dt.datetime.now(TZ).date()


def load_matrix(dirs: DataDirs | None = None, today: dt.date | None = None,
                quarters: list[str] | None = None) -> Matrix:
    """The matrix for the store under ``dirs`` (an absent store is an empty matrix, not created)."""
    dirs = dirs or DataDirs.from_env()
    deliveries: list[dict] = []
    links: list[dict] = []
    from etl.store.db import Store

    if Store.exists(dirs):
        with Store.open(dirs) as store:
            deliveries, links = store.delivery_summaries(), store.quarter_links()
    return build_matrix(deliveries, links, today=today or today_local(), sources=source_table(), quarters=quarters,
                        organisations=organisation_table())


# --------------------------------------------------------------------------- one delivery


def receipt_stem(levering_id: str, received_iso: str, name: str) -> str:
    from etl.core.naming import receipt_stem as stem

    return stem(levering_id, received_iso, name)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _folder(d: dict) -> str:
    """The delivery's partner folder; the source's root for an organisation no longer configured."""
    from etl.core.organisations import folder_of

    try:
        return folder_of(d["bron"], d.get("organisatie") or "")
    except KeyError:
        return d["bron"]


def _organisation_name(d: dict) -> str:
    from etl.core.organisations import organisation

    try:
        return organisation(d["bron"], d.get("organisatie") or "").naam
    except KeyError:
        return "geen (niet in de map van een organisatie)" if not d.get("organisatie") else str(d["organisatie"])


def receipt_path(dirs: DataDirs, d: dict) -> Path:
    return dirs.outbox / _folder(d) / (receipt_stem(d["levering_id"], d["ontvangen_op"], d["bestandsnaam"])
                                      + ".ontvangstbewijs.txt")


def copy_path(dirs: DataDirs, d: dict) -> Path:
    from etl.intake.markup import COPY_SUFFIX

    return dirs.outbox / _folder(d) / (receipt_stem(d["levering_id"], d["ontvangen_op"], d["bestandsnaam"])
                                       + COPY_SUFFIX)


def marked_copy(dirs: DataDirs, levering_id: str) -> Path | None:
    """The marked-up copy of a delivery, if one was written; never for a restricted one."""
    d = _summary(dirs, levering_id)
    if d is None or is_restricted(d):
        return None
    p = copy_path(dirs, d)
    return p if p.is_file() and not p.is_symlink() and _inside(p, dirs.outbox) else None


def _summary(dirs: DataDirs, levering_id: str) -> dict | None:
    from etl.store.db import Store

    if not Store.exists(dirs):
        return None
    with Store.open(dirs) as store:
        return next((d for d in store.delivery_summaries() if d["levering_id"] == levering_id), None)


def load_detail(dirs: DataDirs | None, levering_id: str) -> dict | None:
    """What the page shows for one delivery; None if the store does not know it."""
    dirs = dirs or DataDirs.from_env()
    from etl.intake.receipt import STATUS_NL, local_time_nl
    from etl.store.db import Store

    if not Store.exists(dirs):
        return None
    with Store.open(dirs) as store:
        deliveries = store.delivery_summaries()
        links = store.quarter_links()
    by_id = {d["levering_id"]: d for d in deliveries}
    d = by_id.get(levering_id)
    if d is None:
        return None
    if is_restricted(d):
        return {"levering_id": levering_id, "afgeschermd": True, "status": restricted_text(d)}

    def ref(lid: str, periode: str) -> dict:
        o = by_id.get(lid, {})
        return {"levering_id": lid, "periode": periode, "bestandsnaam": _printable(o.get("bestandsnaam", "?")),
                "ontvangen": local_time_nl(o["ontvangen_op"]) if o else "?"}

    receipt = receipt_path(dirs, d)
    text = None
    if receipt.is_file() and not receipt.is_symlink() and _inside(receipt, dirs.outbox):
        text = receipt.read_text(encoding="utf-8", errors="replace")
    warn = _warnings(d)
    status = STATUS_NL.get(d["status"], d["status"]).lower()
    if d["status"] == DeliveryStatus.ACCEPTED and warn:
        status = "aangenomen met waarschuwingen"
    return {
        "levering_id": levering_id,
        "afgeschermd": False,
        "bron": d["bron"],
        "organisatie": d.get("organisatie") or "",
        "organisatie_naam": _organisation_name(d),
        "bestandsnaam": _printable(d["bestandsnaam"]),
        "ontvangen": local_time_nl(d["ontvangen_op"]),
        "status": status,
        "kwartalen": [label_nl(p) + f" ({p})" for p in d["periodes"] if QUARTER_RE.match(p)],
        "problemen": [{"ernst": p.get("severity"), "code": p.get("code"), "melding": p.get("message"),
                       "oplossing": p.get("fix") or "", "tabblad": p.get("sheet"), "kolom": p.get("column"),
                       "regels": list(p.get("rows") or [])[:20]} for p in d["problemen"]],
        "ontvangstbewijs": text,
        "gemarkeerde_kopie": marked_copy(dirs, levering_id) is not None,
        "vervangt": [ref(lk["levering_id"], lk["periode"]) for lk in links if lk["vervangen_door"] == levering_id],
        "vervangen_door": [ref(lk["vervangen_door"], lk["periode"]) for lk in links
                           if lk["levering_id"] == levering_id and lk["vervangen_door"]],
        "waarschuwingen": len(warn),
    }


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)
