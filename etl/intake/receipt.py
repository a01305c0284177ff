"""Receipts: what a partner reads after dropping a file (Dutch), and its JSON twin.

Written for a person at a partner organisation who is not a data engineer: the
verdict first, then per problem where it is (sheet, column, Excel rows), what was
found and what to change. Values are shown only where they are not personal data;
a personal-data refusal names sheet and column only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from etl.core.files import write_atomic
from etl.core.problems import Problem, format_rows
from etl.core.quarters import label_nl

TZ = ZoneInfo("Europe/Amsterdam")
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december"]
STATUS_NL = {"geaccepteerd": "AANGENOMEN", "afgekeurd": "NIET AANGENOMEN", "dubbel": "AL ONTVANGEN (niet opnieuw verwerkt)"}


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

    def to_json(self) -> dict:
        return {
            "status": self.status, "bron": self.bron, "bestand": self.bestand, "ontvangen_op": self.ontvangen_op,
            "levering_id": self.levering_id, "sha256": self.sha256, "periodes": self.periodes,
            "aantallen": self.aantallen, "vervangt": self.vervangt, "eerder_ontvangen_als": self.eerder_ontvangen_als,
            "persoonsgegevens": self.persoonsgegevens, "gemarkeerde_kopie": self.gemarkeerde_kopie,
            "gemarkeerde_kopie_fout": self.gemarkeerde_kopie_fout,
            "validatie": self.validatie,
            "fouten": sum(p.is_error for p in self.problemen),
            "waarschuwingen": sum(not p.is_error for p in self.problemen),
            "problemen": [p.to_dict() for p in self.problemen],
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
        parts.append(("regel " if len(p.rows) == 1 else "regels ") + format_rows(p.rows))
    return ", ".join(parts)


def render_text(r: Receipt) -> str:
    lines = [
        "ONTVANGSTBEWIJS — Monitor huiselijk geweld en kindermishandeling, regio Groningen",
        "",
        f"Organisatie:   {r.bron_naam}",
        f"Bestand:       {r.bestand}",
        f"Ontvangen:     {local_time_nl(r.ontvangen_op)}",
        f"Kenmerk:       {r.levering_id}",
        f"Controlegetal: {r.sha256[:16]} (SHA-256, begin)",
        "",
        f"RESULTAAT: {STATUS_NL[r.status]}",
        "",
    ]
    errors = [p for p in r.problemen if p.is_error]
    warnings = [p for p in r.problemen if not p.is_error]
    if r.status == "dubbel":
        lines += [f"Dit bestand hebben we al eerder ontvangen en verwerkt (kenmerk {r.eerder_ontvangen_als}).",
                  "Het is niet nog een keer meegeteld. U hoeft niets te doen.", ""]
    if r.periodes:
        lines.append("Kwartalen in dit bestand: " + ", ".join(f"{p} ({label_nl(p)})" for p in r.periodes))
    if r.aantallen and r.status != "dubbel":
        lines.append("Gelezen regels: " + "; ".join(f"tabblad '{s}': {n}" for s, n in r.aantallen.items()))
    for v in r.vervangt:
        lines.append(f"Deze levering vervangt de eerdere levering {v['levering_id']} voor {v['periode']} (in zijn geheel).")
    if r.periodes or r.aantallen or r.vervangt:
        lines.append("")
    if r.status == "geaccepteerd":
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
        lines.append(f"OPMERKINGEN ({len(warnings)}) — {'het bestand is wel aangenomen' if r.status == 'geaccepteerd' else 'graag ook nakijken'}:")
        lines += _problem_lines(warnings)
    if r.gemarkeerde_kopie:
        lines += [f"In '{r.gemarkeerde_kopie}' (in deze map) vindt u uw eigen bestand terug met de punten gemarkeerd.", ""]
    elif r.gemarkeerde_kopie_fout:
        lines += [f"Een kopie van uw bestand met de punten gemarkeerd konden we niet maken: {r.gemarkeerde_kopie_fout} "
                  "De punten hierboven gelden gewoon.", ""]
    lines += ["Vragen? Neem contact op met het team Onderzoek en Statistiek van de gemeente Groningen en noem het kenmerk hierboven."]
    return "\n".join(lines) + "\n"


def _problem_lines(problems: list[Problem]) -> list[str]:
    out = []
    for i, p in enumerate(problems, 1):
        where = _where(p)
        out.append(f"{i}. {where[:1].upper() + where[1:] if where else 'Het bestand'}")
        out.append(f"   Gevonden: {p.message}")
        if p.examples:
            out.append(f"   Voorbeelden van wat er staat: {', '.join(repr(e) for e in p.examples)}")
        if p.fix:
            out.append(f"   Wat te doen: {p.fix}")
        out.append("")
    return out


def write_receipt(r: Receipt, outbox: Path, stem: str) -> tuple[Path, Path]:
    """Write the .txt and .json receipts atomically (temp file + rename): never half a receipt."""
    outbox.mkdir(parents=True, exist_ok=True)
    txt, js = outbox / f"{stem}.ontvangstbewijs.txt", outbox / f"{stem}.ontvangstbewijs.json"
    write_atomic(txt, render_text(r))
    write_atomic(js, json.dumps(r.to_json(), indent=2, ensure_ascii=False) + "\n")
    return txt, js
