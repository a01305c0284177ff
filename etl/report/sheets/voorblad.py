"""Voorblad: which quarter, when made, from which deliveries, what is missing, how to read it."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report.context import ReportContext, local_time
from etl.report.disclosure import PRIMARY_TEXT, SECONDARY_TEXT
from etl.report.sheets.common import paragraph, section
from etl.report.style import MISSING_TEXT, SheetWriter

TITLE = "Voorblad"

SHEETS = (
    ("Samenvatting", "per actielijn de kernindicatoren: dit kwartaal met 95%-interval, vorig kwartaal, "
                     "hetzelfde kwartaal vorig jaar, het trendsignaal en het oordeel."),
    ("Veilig Thuis", "meldingen en adviezen per gemeente, per 1.000 inwoners en vergeleken met de regio; "
                     "soort geweld, melders, hermeldingen, huisverboden en ICM."),
    ("WIJ", "casussen per wijk in de stad Groningen; de noordelijke wijken apart opgeteld."),
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
    w.header(r, ["Bron", "Bestand", "Ontvangen op", "Inhoud (hash, eerste 12 tekens)", "Gebruikt?", "Levering"])
    r += 1
    if not ctx.deliveries:
        w.put(r, 1, "Geen enkele levering voor dit kwartaal.", "tekst")
        r += 1
    for d in ctx.deliveries:
        if d.actueel:
            used = "ja"
        else:
            by = next((x for x in ctx.deliveries if x.levering_id == d.vervangen_door), None)
            used = f"nee, vervangen door levering van {local_time(by.ontvangen_op)}" if by else "nee, vervangen"
        w.row(r, [(ctx.source_name(d.bron), "tekst"), (d.bestandsnaam, "tekst"), (local_time(d.ontvangen_op), "tekst"),
                  (d.hash_prefix, "tekst"), (used, "tekst"), (d.levering_id, "notitie")])
        r += 1

    r = section(w, r + 1, "Ontbrekende leveringen", last_col=6)
    if not ctx.missing_sources and not ctx.missing_parts:
        w.put(r, 1, "Alle verwachte leveringen (drie partners) zijn binnen en compleet.", "tekst", measure=False)
        r += 1
    for bron in ctx.missing_sources:
        w.put(r, 1, f"{ctx.source_name(bron)}: ontbreekt — geen 0. De cijfers van deze partner staan in deze "
                    f"werkmap als '{MISSING_TEXT}'.", "vet", measure=False)
        r += 1
    for line in ctx.missing_parts:
        w.put(r, 1, line, "tekst", measure=False)
        r += 1

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
    w.fix_width(4, 17)
    w.fix_width(5, 34)
    w.fix_width(6, 40)
    w.finish(freeze=None, title_rows=None)
