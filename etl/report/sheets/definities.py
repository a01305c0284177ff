"""Definities: every indicator with source, formula, unit and suppression rule; the methods in plain Dutch."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.config import SOURCES
from etl.report.context import ReportContext
from etl.report.sheets.common import UNIT_TEXT, section
from etl.report.style import SheetWriter, page_break_before

TITLE = "Definities"


def write(wb: Workbook, ctx: ReportContext) -> None:
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    cat = ctx.catalogue
    r = w.title("Definities en methoden", "Wat elk cijfer in deze werkmap betekent, waar het vandaan komt en hoe het "
                "is afgeschermd; daaronder de statistische methoden in gewone taal.", legend=False)
    # The short tables first: the long indicator table comes last, on its own pages, so the
    # header row repeated on every printed page (print titles) is always its own header.
    r = section(w, r, "Kernindicatoren en gewenste richting", last_col=7)
    w.header(r, ["Kernindicator", "Actielijn", "Gebied", "Gewenste richting", "Waarom"])
    r += 1
    for k in cat.key_indicators:
        w.row(r, [(cat.label(k.bron, k.indicator), "vet_wrap"),
                  (f"{k.actielijn}. {cat.actielijnen[k.actielijn]}", "tekst_wrap"),
                  (cat.gebieden[k.gebied], "tekst_wrap"), (cat.richtingen[k.richting], "tekst_wrap"),
                  (k.waarom, "tekst_wrap")])
        r += 1

    r = section(w, r + 1, "Methoden", last_col=7)
    w.header(r, ["Methode", "Uitleg"])
    ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=6)
    r += 1
    for name, text in cat.methoden:
        w.put(r, 1, name, "tekst_wrap")
        w.put(r, 2, text, "tekst_wrap", measure=False)
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=6)
        ws.row_dimensions[r].height = 14 * max(3, len(text) // 120 + 1) + 4
        r += 1

    r += 1
    page_break_before(ws, r)
    r = section(w, r, "Indicatoren", last_col=7)
    header_row = r
    w.header(r, ["Indicator", "Bron", "Eenheid", "Definitie", "Formule", "Afscherming", "Sleutel in de data"])
    r += 1
    order = {b: i for i, b in enumerate(SOURCES)}
    for ind in sorted(cat.shown(), key=lambda i: order.get(i.bron, 99)):
        w.row(r, [(ind.label, "vet_wrap"), (ctx.source_name(ind.bron), "tekst_wrap"), (UNIT_TEXT[ind.soort], "tekst_wrap"),
                  (ind.definitie, "tekst_wrap"), (ind.formule or "zoals aangeleverd", "tekst_wrap"),
                  (cat.afscherming[ind.soort], "notitie_wrap"), (ind.key, "notitie_wrap")])
        r += 1
    w.fix_width(1, 30)
    w.fix_width(2, 22)
    w.fix_width(3, 16)
    w.fix_width(4, 50)
    w.fix_width(5, 40)
    w.fix_width(6, 36)
    w.fix_width(7, 26)
    # The indicator table runs over several printed pages: its header row is repeated on each
    # (from the page it starts on; LibreOffice and Excel repeat print titles from there).
    w.finish(freeze="B4", title_rows=f"{header_row}:{header_row}")
