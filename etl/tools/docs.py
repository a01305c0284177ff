"""``docs/aanleverformat.md``: the delivery format for partners, generated from the source descriptions.

Generated, not written by hand, so the partner documentation can never drift from what
the reader and the expectation suites actually accept.
"""

from __future__ import annotations

from pathlib import Path

from etl.core.reference import gemeenten, wijken
from etl.core.sources import Rule, Sheet, Source

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "aanleverformat.md"

TYPE_NL = {
    "periode": "kwartaal (2024-Q3, 2024 Q3, Q3 2024, 2024K3, 3e kwartaal 2024 of een datum in het kwartaal)",
    "gemeente": "gemeente (naam, CBS-code zoals GM0014 of 14, of een naam van vóór de herindeling)",
    "wijk": "WIJ-gebied (zie de lijst hieronder)",
    "count": "aantal (heel getal, 0 of meer; leeg = onbekend, niet 0)",
    "number": "getal (decimalen toegestaan)",
    "bool": "ja/nee",
    "date": "datum (Excel-datum, dd-mm-jjjj of jjjj-mm-dd)",
    "enum": "een van de toegestane waarden",
    "id": "pseudoniem (geen BSN, naam of ander direct herleidbaar nummer)",
    "text": "tekst",
}


def _rule_nl(rule: Rule) -> str:
    if rule.kind == "sum":
        return f"{' + '.join(rule['parts'])} = {rule['total']} (een cel met '<5' of een lege cel telt niet mee in deze controle)"
    if rule.kind == "lte":
        return f"{rule['small']} is niet groter dan {rule['large']}"
    if rule.kind == "active_in_period":
        return "de casus was actief in het kwartaal van de regel (gestart vóór of in het kwartaal, niet afgesloten vóór het kwartaal)"
    if rule.kind == "capacity":
        return f"{rule['occupied']} is niet groter dan {rule['places']} × het aantal dagen in het kwartaal"
    return rule.kind


def _sheet_md(sheet: Sheet) -> list[str]:
    status = "verplicht" if sheet.required else "verwacht (ontbreekt het, dan ontbreken die cijfers)"
    out = [f"### Tabblad `{sheet.name}` — {status}", ""]
    if sheet.available_from:
        out += [f"Vanaf {sheet.available_from}.", ""]
    if sheet.aliases:
        out += [f"Ook herkend als: {', '.join(f'`{a}`' for a in sheet.aliases)}.", ""]
    out += [f"Eén regel per {' × '.join(sheet.key)}.", ""]
    out += _rows_and_shielding(sheet)
    out += ["",
            "| kolom | soort waarde | verplicht | ook herkend als |", "|---|---|---|---|"]
    for c in sheet.columns:
        kind = TYPE_NL[c.type] + (f": {', '.join(c.allowed)}" if c.allowed else "")
        if c.nullable:
            kind += "; mag leeg zijn"
        out.append(f"| `{c.name}` | {kind} | {'ja' if c.required else 'nee'} | {', '.join(c.aliases)} |")
    out.append("")
    if sheet.rules:
        out += ["Controles:", ""] + [f"- {_rule_nl(r)}" for r in sheet.rules] + [""]
    return out


def _rows_and_shielding(sheet: Sheet) -> list[str]:
    """What an absent municipality row and '<5' mean on this sheet (include/sources.yaml)."""
    out: list[str] = []
    if sheet.tidy == "gemeente":
        if sheet.absent_gemeente == "zero":
            out.append("**Gemeente zonder regel = 0.** U mag alleen de gemeenten noemen die in het kwartaal cliënten "
                       "hadden. Een gemeente zonder regel telt als 0; het regiototaal is de som van uw regels. "
                       "Het ontvangstbewijs noemt de gemeenten zonder regel (\"geen regel voor Pekela, Westerwolde en "
                       "Eemsdelta: geteld als 0\").")
        else:
            out.append("**Elke gemeente een regel**, ook als de aantallen 0 zijn. Ontbreekt een gemeente, dan "
                       "ontbreken haar cijfers en de regiototalen (ze tellen niet als 0); het ontvangstbewijs zegt welke.")
    if any(c.type == "count" for c in sheet.columns):
        if sheet.shielding_allowed:
            out.append("**Afschermen mag**: een aantal van 1 tot en met 4 mag u als `<5` schrijven. Het ontvangstbewijs "
                       "noemt die cellen en wat er daardoor onbekend wordt (bijvoorbeeld het regiototaal van die kolom).")
        else:
            out.append("**Niet zelf afschermen**: dit zijn casusregels; schrijf het echte aantal, ook 1 tot en met 4. "
                       "De monitor schermt kleine aantallen zelf af in de rapportage. Een bestand met `<5` op een "
                       "casusregel wordt niet aangenomen.")
    out.append("**Onbekend**: laat de cel leeg, of schrijf `n.v.t.`, `-`, `onbekend` of `?`. Zo'n cel wordt gelezen als "
               "onbekend (nooit als 0) en het ontvangstbewijs noemt elke cel (bijvoorbeeld `I12`). Was het aantal 0, "
               "schrijf dan 0 (ook `geen` telt als onbekend).")
    return [line for text in out for line in (text, "")][:-1]


def render(sources: dict[str, Source]) -> str:
    lines = [
        "# Aanleverformat (gegenereerd uit `include/sources.yaml`)",
        "",
        "Dit document wordt gemaakt met `python -m etl suites`; pas het niet met de hand aan.",
        "Kolomnamen mogen in hoofd- of kleine letters, met spaties of underscores; de kopregel mag",
        "lager dan regel 1 staan; een regel `Totaal` onderaan wordt gecontroleerd en daarna genegeerd.",
        "",
    ]
    for s in sources.values():
        lines += [f"## {s.naam} (map `inbox/{s.key}/`)", "", f"Uiterlijk {s.deadline_dagen} dagen na het einde van het kwartaal.", ""]
        for sheet in s.sheets:
            lines += _sheet_md(sheet)
    lines += ["## Gemeenten", "", "| code | gemeente |", "|---|---|"]
    lines += [f"| {g.code} | {g.naam} |" for g in gemeenten()]
    lines += ["", "## WIJ-gebieden", "", "| gebied | noordelijke wijk (focus actieplan) |", "|---|---|"]
    lines += [f"| {w.naam} | {'ja' if w.noordelijk else ''} |" for w in wijken()]
    return "\n".join(lines) + "\n"


def write_docs(sources: dict[str, Source]) -> Path:
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(render(sources), encoding="utf-8")
    return DOC_PATH
