"""Vrouwenopvang: intake and outflow per municipality of origin; capacity, wait list, support point."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import days_in_quarter, label_nl, parse_quarter
from etl.core.sources import load_sources
from etl.report import stats
from etl.report.context import ReportContext
from etl.report.protect import REGIO
from etl.report.sheets.common import paragraph, put_number, put_shown, section, source_sheet
from etl.report.style import hidden_style, text_style

TITLE = "Vrouwenopvang"
BRON = "vrouwenopvang"
PER_GEMEENTE = ("aanmeldingen", "opnames_volwassenen", "opnames_kinderen", "ambulante_trajecten",
                "uitstroom_zelfstandig", "uitstroom_terug_naar_huis", "uitstroom_andere_opvang", "uitstroom_onbekend")
STEUNPUNT = ("inloopcontacten", "telefonische_contacten", "chatcontacten", "steunpunt_contacten")


def write(wb: Workbook, ctx: ReportContext) -> None:
    w, r = source_sheet(wb, ctx, TITLE, BRON, f"Vrouwenopvang — {label_nl(ctx.periode)}",
                        "Aanmeldingen, opnames en uitstroom naar gemeente van herkomst; capaciteit en steunpunt voor de regio.",
                        "de Vrouwenopvang")
    cat = ctx.catalogue
    view = ctx.view
    header_row = r
    w.header(r, ["Gemeente van herkomst", *[cat.label(BRON, c) for c in PER_GEMEENTE]])
    r += 1
    areas = [("gemeente", g.code, g.naam, "") for g in ctx.gemeenten] + [(*REGIO, "Regio totaal", "tot")]
    for gtype, code, name, kind in areas:
        w.put(r, 1, name, text_style(kind))
        for offset, ind in enumerate(PER_GEMEENTE):
            put_shown(w, r, 2 + offset, view.get(BRON, gtype, code, ind), "aantal", kind,
                      view.status.get((BRON, gtype, code, ind)))
        r += 1

    r = section(w, r + 1, "Crisisopvang (regio)", last_col=9)
    w.header(r, ["Kenmerk", "Waarde", "95%-interval van", "95%-interval tot", "Toelichting"])
    r += 1
    occ = view.get(BRON, *REGIO, "bezettingsgraad")
    places = view.get(BRON, *REGIO, "plaatsen_crisisopvang")
    days = view.get(BRON, *REGIO, "bezette_plaatsdagen")
    for ind in ("plaatsen_crisisopvang", "bezette_plaatsdagen"):
        w.put(r, 1, cat.label(BRON, ind), "tekst")
        put_shown(w, r, 2, view.get(BRON, *REGIO, ind), "aantal")
        r += 1
    w.put(r, 1, cat.label(BRON, "bezettingsgraad"), "tekst")
    put_shown(w, r, 2, occ, "aandeel")
    if occ.visible is not None and places.visible and days.visible is not None:
        n = int(places.visible) * days_in_quarter(ctx.periode)
        iv = stats.wilson_interval(min(int(days.visible), n), n)
        put_number(w, r, 3, iv.lower, "pct")
        put_number(w, r, 4, iv.upper, "pct")
        w.put(r, 5, f"{int(places.visible)} plaatsen x {days_in_quarter(ctx.periode)} dagen", "notitie")
    else:
        put_number(w, r, 3, None, "pct", hidden=occ.hidden, empty="ontbreekt")
        put_number(w, r, 4, None, "pct", hidden=occ.hidden, empty="ontbreekt")
    r += 1
    for ind, soort in (("wachtlijst_einde_kwartaal", "aantal"), ("gemiddelde_verblijfsduur_dagen", "dagen")):
        w.put(r, 1, cat.label(BRON, ind), "tekst")
        put_shown(w, r, 2, view.get(BRON, *REGIO, ind), soort)
        if soort == "aantal":
            cell = view.get(BRON, *REGIO, ind)
            if cell.visible is not None:
                iv = stats.poisson_interval(int(cell.visible))
                put_number(w, r, 3, iv.lower, "dec1")
                put_number(w, r, 4, iv.upper, "dec1")
        r += 1

    r = section(w, r + 1, "Laagdrempelig steunpunt (regio, open sinds november 2024)", last_col=9)
    w.header(r, ["Kenmerk", "Waarde", "95%-interval van", "95%-interval tot", "Toelichting"])
    r += 1
    opened = load_sources()[BRON].sheet("Steunpunt").available_from
    before = bool(opened) and parse_quarter(ctx.periode) < parse_quarter(opened)
    for ind in STEUNPUNT:
        kind = "tot" if ind == "steunpunt_contacten" else ""
        w.put(r, 1, cat.label(BRON, ind), text_style(kind))
        cell = view.get(BRON, *REGIO, ind)
        if before and cell.missing:
            w.put(r, 2, "bestond nog niet", hidden_style(kind))
        else:
            put_shown(w, r, 2, cell, "aantal", kind)
        if cell.visible is not None:
            iv = stats.poisson_interval(int(cell.visible))
            put_number(w, r, 3, iv.lower, "dec1", kind)
            put_number(w, r, 4, iv.upper, "dec1", kind)
        else:
            w.put(r, 3, None, text_style(kind))
            w.put(r, 4, None, text_style(kind))
        w.put(r, 5, None, text_style(kind))
        r += 1
    r += 1
    paragraph(w, r, "Bezettingsgraad = bezette plaatsdagen / (plaatsen x dagen in het kwartaal), met Wilson-interval. "
                    "Intervallen bij aantallen: Byar (exact onder 10).", last_col=9, style="notitie_wrap",
              chars_per_line=180)
    w.fix_width(1, 34)
    w.fix_width(5, 14)
    w.finish(freeze=f"B{header_row + 1}", title_rows=f"1:{header_row - 1}")
