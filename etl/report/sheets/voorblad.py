"""Voorblad: which quarter, when made, from which deliveries, what is missing, how to read it."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.organisations import organisations
from etl.core.quarters import label_nl
from etl.report.context import DeliveryInfo, ReportContext, local_time
from etl.report.disclosure import PRIMARY_TEXT, SECONDARY_TEXT
from etl.report.sheets.common import paragraph, section
from etl.report.style import MISSING_TEXT, SheetWriter

TITLE = "Voorblad"

SHEETS = (
    ("Samenvatting", "per actielijn de kernindicatoren: dit kwartaal met 95%-interval, vorig kwartaal, "
                     "hetzelfde kwartaal vorig jaar, het trendsignaal en het oordeel."),
    ("Veilig Thuis", "meldingen en adviezen per gemeente, per 1.000 inwoners en vergeleken met de regio; "
                     "soort geweld, melders, hermeldingen, huisverboden en ICM."),
    ("WIJ", "casussen per wijk in de stad Groningen, de noordelijke wijken apart opgeteld; daaronder per gemeente "
            "de lokale teams en de regio."),
    ("Vrouwenopvang", "aanmeldingen, opnames en uitstroom per gemeente van herkomst; bezetting, wachtlijst, steunpunt."),
    ("Trends", "acht kwartalen per kernindicator, met gemiddelde en grenzen voor gewone schommeling."),
    ("Funnelplots", "gemeenten en wijken naast elkaar, met grenzen die rekening houden met hun grootte."),
    ("Datakwaliteit", "per levering de uitgevoerde controles, geaccepteerde waarschuwingen en afgeschermde cellen."),
    ("Definities", "wat elk cijfer betekent, hoe het berekend is, en uitleg bij de methoden."),
    ("Data", "alle cijfers van dit kwartaal als filterbare tabel (afgeschermd)."),
)

GUIDE = (
    "Begin bij de Samenvatting. De kolom 'Oordeel' zegt of een kernindicator echt verandert: 'verbetering' of "
    "'aandachtspunt' alleen als de reeks van acht kwartalen een signaal geeft dat groter is dan toeval; anders "
    "'geen significante verandering'. Een getal dat hoger of lager is dan vorig kwartaal is op zich nog geen verandering.",
    "Het 95%-interval geeft aan hoe zeker een cijfer is: hoe kleiner de aantallen, hoe breder het interval. "
    "Cijfers op minder dan 10 gebeurtenissen hebben een opmerking: lees ze als indicatie.",
    "Gemeenten en wijken vergelijken we met de regio (of de stad) als 'hoger', 'lager' of 'vergelijkbaar'. "
    "Hoger is niet per se slechter: meer meldingen kan betekenen dat geweld beter wordt opgemerkt.",
    f"Tekens: {PRIMARY_TEXT} = een aantal van 1 tot en met 4, afgeschermd om mensen niet herkenbaar te maken. "
    f"{SECONDARY_TEXT} = afgeschermd omdat het anders via een totaal of verschil een {PRIMARY_TEXT} zou verraden, "
    f"of omdat het berekend is uit een afgeschermd aantal. '{MISSING_TEXT}' = niet aangeleverd; dat is geen 0. "
    "Een 0 is echt 0.",
)


def used_text(ctx: ReportContext, d: DeliveryInfo) -> str:
    if d.actueel:
        return "ja"
    by = next((x for x in ctx.deliveries if x.levering_id == d.vervangen_door), None)
    return f"nee, vervangen door de levering van {local_time(by.ontvangen_op)}" if by else "nee, vervangen"


def replaces_text(ctx: ReportContext, d: DeliveryInfo) -> str:
    """``vervangt de levering van 03-01-2025 10:12`` (what a reader needs instead of ids)."""
    earlier = [x for x in ctx.deliveries if x.vervangen_door == d.levering_id]
    if not earlier:
        return ""
    return "vervangt de levering van " + ", ".join(local_time(x.ontvangen_op) for x in earlier)


def completeness_text(ctx: ReportContext, d: DeliveryInfo) -> str:
    if not d.actueel:
        return ""
    n = len(d.warnings)
    if not n:
        return "compleet"
    unknown = ctx.unknown_by_warning.get(d.bron, {})
    text = f"aangenomen met {n} {'waarschuwing' if n == 1 else 'waarschuwingen'}"
    return text + ("; daardoor is een deel onbekend (zie hieronder)" if unknown else "; alle cijfers bekend")


def _areas(names: list[str]) -> str:
    names = list(dict.fromkeys(names))
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:3])} en nog {len(names) - 3}"


def warning_sentence(ctx: ReportContext, bron: str, unknown: dict[str, list[str]]) -> str:
    """``WIJ Groningen: aangenomen met 2 waarschuwingen. Daardoor onbekend: Kinderen betrokken (...)``."""
    n = sum(len(d.warnings) for d in ctx.warned_deliveries(bron))
    parts = [f"{ctx.catalogue.label(bron, ind)} ({_areas(areas)})" for ind, areas in unknown.items()]
    return (f"{ctx.source_name(bron)}: aangenomen met {n} {'waarschuwing' if n == 1 else 'waarschuwingen'} "
            f"(zie Datakwaliteit). Daardoor staat als '{MISSING_TEXT}': "
            + "; ".join(parts) + ".")


def organisations_sentence(ctx: ReportContext, bron: str, lacking: list) -> str:
    """``WIJ Groningen: 3 van de 10 organisaties hebben geleverd ...`` (the region's honesty line)."""
    total = len(organisations(bron))
    have = [ctx.organisation_name(d) for d in ctx.current_deliveries if d.bron == bron]
    verb = "heeft" if len(have) == 1 else "hebben"
    return (f"{ctx.source_name(bron)}: {len(have)} van de {total} organisaties {verb} geleverd "
            f"({', '.join(dict.fromkeys(have))}). Nog geen levering van {', '.join(o.naam for o in lacking)}: "
            f"hun cijfers staan als '{MISSING_TEXT}' (geen 0), en het regiototaal daardoor ook. De som van wat "
            "wel geleverd is, staat apart als 'geleverde organisaties'.")


def write(wb: Workbook, ctx: ReportContext) -> None:
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    w.put(1, 1, "Monitor huiselijk geweld en kindermishandeling — regio Groningen", "titel", measure=False)
    ws.row_dimensions[1].height = 26
    w.put(2, 1, f"Kwartaalrapportage {label_nl(ctx.periode)} ({ctx.periode})", "subtitel", measure=False)
    r = 4
    for label, value in (("Kwartaal", f"{label_nl(ctx.periode)} ({ctx.periode})"),
                         ("Gemaakt op", local_time(ctx.made_at)),
                         ("Actieplannen", "Geweld hoort nergens thuis · In Groningen is iedereen veilig thuis")):
        w.put(r, 1, label, "vet")
        w.put(r, 2, value, "tekst", measure=False)
        r += 1

    r = section(w, r + 1, "Gebruikte leveringen", last_col=6)
    w.header(r, ["Bron", "Bestand", "Ontvangen op", "Gebruikt?", "Vervangt", "Volledig?"])
    r += 1
    if not ctx.deliveries:
        w.put(r, 1, "Geen enkele levering voor dit kwartaal.", "tekst")
        r += 1
    for d in ctx.deliveries:
        w.row(r, [(ctx.organisation_name(d), "tekst_wrap"), (d.bestandsnaam, "tekst_wrap"),
                  (local_time(d.ontvangen_op), "tekst"), (used_text(ctx, d), "tekst_wrap"),
                  (replaces_text(ctx, d), "tekst_wrap"), (completeness_text(ctx, d), "tekst_wrap")])
        r += 1
    r += 1
    w.put(r, 1, "Het kenmerk van elke levering staat in het tabblad Data (kolom 'Kenmerk van de levering').",
          "notitie", measure=False)
    r += 1

    r = section(w, r + 1, "Volledigheid", last_col=6)
    warned = {b: u for b, u in ctx.unknown_by_warning.items() if u}
    if not ctx.missing_sources and not ctx.missing_parts and not warned and not ctx.missing_organisations:
        n = len(ctx.current_deliveries)
        with_warnings = sum(1 for d in ctx.current_deliveries if d.warnings)
        text = f"Alle verwachte leveringen ({n}) zijn binnen en geen cijfer ontbreekt."
        if with_warnings:   # "compleet" beside "aangenomen met waarschuwingen" would contradict the table
            text += (f" {with_warnings} van de {n} {'is' if with_warnings == 1 else 'zijn'} aangenomen met "
                     "waarschuwingen; wat die zeggen staat in de tabel hierboven en in het tabblad Datakwaliteit.")
        w.put(r, 1, text, "tekst", measure=False)
        r += 1
    for bron in ctx.missing_sources:
        w.put(r, 1, f"{ctx.source_name(bron)}: ontbreekt — geen 0. De cijfers van deze partner staan in deze "
                    f"werkmap als '{MISSING_TEXT}'.", "vet", measure=False)
        r += 1
    for bron, lacking in ctx.missing_organisations.items():
        r = paragraph(w, r, organisations_sentence(ctx, bron, lacking), last_col=6, chars_per_line=125)
    for line in ctx.missing_parts:
        w.put(r, 1, line, "tekst", measure=False)
        r += 1
    for bron, unknown in warned.items():
        r = paragraph(w, r, warning_sentence(ctx, bron, unknown), last_col=6, chars_per_line=125)

    r = section(w, r + 1, "Leeswijzer", last_col=6)
    for text in GUIDE:
        r = paragraph(w, r, text, last_col=6, chars_per_line=125)
    r += 1
    w.header(r, ["Tabblad", "Wat staat erin"])
    ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=6)
    r += 1
    for name, text in SHEETS:
        w.put(r, 1, name, "vet")
        w.put(r, 2, text, "tekst", measure=False)
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=6)
        r += 1
    w.fix_width(1, 24)
    w.fix_width(2, 36)
    w.fix_width(3, 17)
    w.fix_width(4, 28)
    w.fix_width(5, 28)
    w.fix_width(6, 34)
    w.finish(freeze=None, title_rows=None)
