"""Receipts: what a partner reads after dropping a file (Dutch), and its JSON twin.

Written for a person at a partner organisation who is not a data engineer: the
verdict first, then per problem where it is (sheet, column, Excel rows), what was
found and what to change. Values are shown only where they are not personal data;
a personal-data refusal names sheet and column only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from etl.core.files import write_atomic
from etl.core.problems import Problem, format_rows
from etl.core.quarters import label_nl
from etl.core.status import DeliveryStatus

TZ = ZoneInfo("Europe/Amsterdam")
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december"]
CONTACT_ENV = "MONITOR_CONTACT_EMAIL"
DEFAULT_CONTACT = "onderzoek@groningen.nl"
SCHEMA_VERSION = 2


def contact_address() -> str:
    """Who partners write to, from configuration: ``MONITOR_CONTACT_EMAIL`` (see .env.example)."""
    return os.environ.get(CONTACT_ENV, "").strip() or DEFAULT_CONTACT


#: The JSON twin speaks Dutch: a problem's fields under Dutch names (the store keeps the
#: code names; this is only the partner-facing rendering). Documented by
#: docs/schemas/ontvangstbewijs.schema.json.
PROBLEM_KEYS_NL = {"code": "code", "severity": "ernst", "message": "melding", "fix": "wat_te_doen", "sheet": "tabblad",
                   "column": "kolom", "rows": "regels", "cells": "cellen", "examples": "voorbeelden", "extra": "details"}


def problem_json(p: Problem) -> dict:
    return {PROBLEM_KEYS_NL[k]: v for k, v in p.to_dict().items()}


def validation_json(v: dict) -> dict:
    """The GX run summary under Dutch names (empty when no expectations ran)."""
    if not v:
        return {"controles": 0, "geslaagd": 0, "mislukt": []}
    return {"controles": int(v.get("evaluated", 0)), "geslaagd": int(v.get("passed", 0)), "mislukt": list(v.get("failed", []))}


STATUS_NL = {DeliveryStatus.ACCEPTED: "AANGENOMEN", DeliveryStatus.REJECTED: "NIET AANGENOMEN",
             DeliveryStatus.DUPLICATE: "AL ONTVANGEN (niet opnieuw verwerkt)"}


@dataclass
class Receipt:
    status: str                       # geaccepteerd | afgekeurd | dubbel
    bron: str
    bron_naam: str
    bestand: str
    ontvangen_op: str                 # ISO 8601, UTC
    levering_id: str
    sha256: str
    periodes: list[str] = field(default_factory=list)
    aantallen: dict[str, int] = field(default_factory=dict)     # sheet -> data rows read
    problemen: list[Problem] = field(default_factory=list)
    vervangt: list[dict] = field(default_factory=list)           # [{periode, levering_id}]
    eerder_ontvangen_als: str | None = None
    persoonsgegevens: bool = False
    gemarkeerde_kopie: str | None = None
    gemarkeerde_kopie_fout: str | None = None   # why no marked-up copy could be made (Dutch, no cell values)
    validatie: dict = field(default_factory=dict)
    herkomst: list[dict] = field(default_factory=list)           # per sheet: which cells and rows were read
    organisatie: str = ""                                        # include/organisaties.yaml code; "" = none

    def to_json(self) -> dict:
        return {
            "schemaversie": SCHEMA_VERSION,
            "status": self.status, "bron": self.bron, "organisatie": self.organisatie, "bron_naam": self.bron_naam, "bestand": self.bestand,
            "ontvangen_op": self.ontvangen_op, "levering_id": self.levering_id, "controlegetal_sha256": self.sha256,
            "periodes": self.periodes, "aantallen": self.aantallen, "vervangt": self.vervangt,
            "eerder_ontvangen_als": self.eerder_ontvangen_als, "persoonsgegevens": self.persoonsgegevens,
            "gemarkeerde_kopie": self.gemarkeerde_kopie, "gemarkeerde_kopie_fout": self.gemarkeerde_kopie_fout,
            "contact": contact_address(),
            "validatie": validation_json(self.validatie),
            "fouten": sum(p.is_error for p in self.problemen),
            "waarschuwingen": sum(not p.is_error for p in self.problemen),
            "problemen": [problem_json(p) for p in self.problemen],
            "herkomst": self.herkomst,
        }


def local_time_nl(iso: str) -> str:
    t = dt.datetime.fromisoformat(iso).astimezone(TZ)
    return f"{t.day} {MONTHS[t.month - 1]} {t.year}, {t:%H:%M} uur"


def _where(p: Problem) -> str:
    parts = []
    if p.sheet:
        parts.append(f"tabblad '{p.sheet}'")
    if p.column:
        if p.column[:1].isupper() and len(p.column) <= 3 or "(" in p.column:
            parts.append(f"kolom {p.column}")            # an Excel letter, maybe with its header
        elif ", " in p.column:                           # a rule over several columns
            names = [f"'{c}'" for c in p.column.split(", ")]
            parts.append(f"kolommen {', '.join(names[:-1])} en {names[-1]}")
        else:
            parts.append(f"kolom '{p.column}'")
    if p.rows:
        parts.append(rows_nl(p.rows))
    return ", ".join(parts)


def rows_nl(rows: tuple[int, ...] | list[int]) -> str:
    """``regel 7``, ``regels 3, 7-9 en 12``, or for one long run ``in alle 779 regels, 4-782``.

    Always the full extent and the count: a list cut at 50 rows would say "4-53" where
    the problem is in every row.
    """
    distinct = sorted(set(rows))
    n = len(distinct)
    if n == 1:
        return f"regel {distinct[0]}"
    if distinct[-1] - distinct[0] + 1 == n and n > 2:
        return f"in alle {n} regels, {distinct[0]}-{distinct[-1]}"
    listed = format_rows(distinct)
    return f"regels {listed}" if n <= 10 else f"{n} regels: {listed}"


def render_text(r: Receipt) -> str:
    lines = [
        "ONTVANGSTBEWIJS — Monitor huiselijk geweld en kindermishandeling, regio Groningen",
        "",
        f"Organisatie:   {r.bron_naam}",
        f"Bestand:       {r.bestand}",
        f"Ontvangen:     {local_time_nl(r.ontvangen_op)}",
        f"Kenmerk:       {r.levering_id}",
        "",
        f"RESULTAAT: {STATUS_NL[r.status]}",
        "",
    ]
    errors = [p for p in r.problemen if p.is_error]
    warnings = [p for p in r.problemen if not p.is_error]
    if r.status == DeliveryStatus.DUPLICATE:
        lines += [f"Dit bestand hebben we al eerder ontvangen en verwerkt (kenmerk {r.eerder_ontvangen_als}).",
                  "Het is niet nog een keer meegeteld. U hoeft niets te doen.", ""]
    if r.periodes:
        lines.append("Kwartalen in dit bestand: " + ", ".join(f"{p} ({label_nl(p)})" for p in r.periodes))
    if r.aantallen and r.status != DeliveryStatus.DUPLICATE:
        lines.append("Gelezen regels: " + "; ".join(f"tabblad '{s}': {n}" for s, n in r.aantallen.items()))
    for v in r.vervangt:
        lines.append(f"Deze levering vervangt uw eerdere levering voor {v['periode']} ({label_nl(v['periode'])}) "
                     f"in zijn geheel (kenmerk van die levering: {v['levering_id']}).")
    if r.periodes or r.aantallen or r.vervangt:
        lines.append("")
    if r.status == DeliveryStatus.ACCEPTED:
        lines += ["De gegevens zijn aangenomen en tellen mee in de kwartaalrapportage.", ""]
    if r.persoonsgegevens:
        lines += [
            "Dit bestand bevat gegevens die naar personen herleidbaar zijn. Zulke gegevens mogen we niet ontvangen.",
            "Het bestand is daarom in zijn geheel geweigerd en apart afgeschermd bewaard (niet in het gewone archief).",
            "In dit ontvangstbewijs staan bewust geen waarden uit het bestand.", "",
        ]
    internal = [p for p in errors if p.code == "verwerkingsfout"]
    if internal:                       # our fault, not the partner's: no "what to change" list for it
        if internal[0].extra.get("oorzaak"):   # the reader died on this file (etl.intake.inbox._dead_letter)
            lines += [internal[0].message, internal[0].fix, ""]
        else:
            lines += ["Bij het verwerken van dit bestand ging bij ons iets mis; dat ligt niet aan uw bestand.",
                      internal[0].fix, ""]
        errors = [p for p in errors if p.code != "verwerkingsfout"]
    if errors:
        lines.append(f"WAT MOET U AANPASSEN ({len(errors)} {'punt' if len(errors) == 1 else 'punten'}):")
        lines += _problem_lines(errors)
        lines += ["Pas het bestand aan en zet het daarna opnieuw in dezelfde map. Het nieuwe bestand wordt dan opnieuw gecontroleerd.", ""]
    if warnings:
        head = "OPMERKING" if len(warnings) == 1 else f"OPMERKINGEN ({len(warnings)})"
        lines.append(f"{head} — {'het bestand is wel aangenomen' if r.status == DeliveryStatus.ACCEPTED else 'graag ook nakijken'}:")
        lines += _problem_lines(warnings)
    if r.gemarkeerde_kopie:
        lines += [f"In '{r.gemarkeerde_kopie}' (in deze map) vindt u uw eigen bestand terug met de punten gemarkeerd.", ""]
    elif r.gemarkeerde_kopie_fout:
        lines += [f"Een kopie van uw bestand met de punten gemarkeerd konden we niet maken: {r.gemarkeerde_kopie_fout} "
                  "De punten hierboven gelden gewoon.", ""]
    lines += [f"Vragen? Mail naar {contact_address()} (team Onderzoek en Statistiek, gemeente Groningen) "
              "en noem het kenmerk hierboven."]
    return "\n".join(lines) + "\n"


def _problem_lines(problems: list[Problem]) -> list[str]:
    out = []
    for i, p in enumerate(problems, 1):
        where = _where(p)
        out.append(f"{i}. {where[:1].upper() + where[1:] if where else 'Het bestand'}")
        out.append(f"   Gevonden: {p.message}")
        if p.cells and p.cells[0] not in p.message:
            out.append(f"   {_cells_line(p.cells, sum(1 for _ in p.rows) or len(p.cells))}")
        if p.examples and not all(f"'{e}'" in p.message for e in p.examples):      # (not twice)
            word = "Voorbeeld van wat er staat" if len(p.examples) == 1 else "Voorbeelden van wat er staat"
            out.append(f"   {word}: {', '.join(_quoted(e) for e in p.examples)}")
        if p.fix:
            out.append(f"   Wat te doen: {p.fix}")
        out.append("")
    return out


def _cells_line(cells: tuple[str, ...], total: int) -> str:
    shown = list(cells[:10])
    more = max(total, len(cells)) - len(shown)
    if len(shown) == 1 and not more:
        return f"Cel: {shown[0]}"
    tail = f" en nog {more} andere" if more > 0 else ""
    return f"Cellen: {', '.join(shown)}{tail}"


def _quoted(text: str) -> str:
    """'n.v.t.' in plain quotes (repr() would show escapes and switch quote style)."""
    return f"'{text}'"


def write_receipt(r: Receipt, outbox: Path, stem: str) -> tuple[Path, Path]:
    """Write the .txt and .json receipts atomically (temp file + rename): never half a receipt."""
    outbox.mkdir(parents=True, exist_ok=True)
    txt, js = outbox / f"{stem}.ontvangstbewijs.txt", outbox / f"{stem}.ontvangstbewijs.json"
    write_atomic(txt, render_text(r))
    write_atomic(js, json.dumps(r.to_json(), indent=2, ensure_ascii=False) + "\n")
    return txt, js
