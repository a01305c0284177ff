"""Data: the quarter's combined dataset as a filterable Excel table, after disclosure control.

The values are the protected cells of the same quarter view every other sheet reads,
so a filter here can never show what a table elsewhere hides.
"""

from __future__ import annotations

from openpyxl.workbook import Workbook
from openpyxl.worksheet.table import Table, TableStyleInfo

from etl.core.config import SOURCES
from etl.core.quarters import label_nl
from etl.report.context import ReportContext
from etl.report.sheets.common import put_shown
from etl.report.style import SheetWriter

TITLE = "Data"
TABLE_NAME = "Dataset"
#: Column headers in words; the keys stay in the last two columns for traceability.
COLUMNS = ["Kwartaal", "Bron", "Soort gebied", "Gebied", "Gebiedscode", "Indicator", "Waarde", "Status",
           "Afscherming", "Sleutel van de indicator", "Kenmerk van de levering"]

#: The dataset's status codes (``etl.intake.tidy``) as a reader says them.
STATUS_NL = {
    "ok": "aangeleverd",
    "suppressed_by_partner": "door de partner afgeschermd (<5)",
    "missing": "ontbreekt (geen 0)",
}
#: A region total over a partner-suppressed municipality is not known at all.
STATUS_NL_TOTAL = {"suppressed_by_partner": "onbekend: een deel is door de partner afgeschermd"}
GEBIED_TYPE_NL = {"gemeente": "gemeente", "regio": "regio", "wijk": "wijk", "wijkgroep": "groep wijken"}

AFSCHERMING_LEGEND = ("Kolom Afscherming: primair = een aantal van 1 tot en met 4; partner = door de partner als <5 "
                      "aangeleverd; secundair = afgeschermd zodat een totaal of verschil geen <5 verraadt; afgeleid = "
                      "berekend uit een afgeschermd aantal. Leeg = het getal staat er gewoon.")


def status_nl(status: str, gebied_type: str) -> str:
    """The status in words (an unknown future code is shown as it is rather than hidden)."""
    if gebied_type in ("regio", "wijkgroep") and status in STATUS_NL_TOTAL:
        return STATUS_NL_TOTAL[status]
    return STATUS_NL.get(status, status)


def write(wb: Workbook, ctx: ReportContext) -> None:
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    r = w.title(f"Data — {label_nl(ctx.periode)}",
                "Alle cijfers van dit kwartaal, één rij per waarde, zoals in de andere tabbladen afgeschermd. "
                "Gebruik de filterknoppen in de kopregel.")
    w.put(r - 1, 1, AFSCHERMING_LEGEND, "subtitel", measure=False)
    r += 1
    header_row = r
    for c, name in enumerate(COLUMNS, start=1):
        w.put(r, c, name, "kop_links")
    r += 1
    q = ctx.dataset
    order = {b: i for i, b in enumerate(SOURCES)}
    rows = sorted(q.itertuples(index=False), key=lambda x: (order.get(x.bron, 99), x.gebied_type, x.gebied_code, x.indicator))
    view = ctx.view
    for row in rows:
        key = (row.bron, row.gebied_type, row.gebied_code, row.indicator)
        cell = view.cells.get(key)
        ind = ctx.catalogue.get(row.bron, row.indicator)
        gebied = ctx.gemeente_naam(row.gebied_code) if row.gebied_type == "gemeente" else (
            "Regio Groningen" if row.gebied_type == "regio" else row.gebied_code)
        w.put(r, 1, row.periode, "tekst")
        w.put(r, 2, ctx.source_name(row.bron), "tekst")
        w.put(r, 3, GEBIED_TYPE_NL.get(row.gebied_type, row.gebied_type), "tekst")
        w.put(r, 4, gebied, "tekst")
        w.put(r, 5, row.gebied_code if row.gebied_type == "gemeente" else "", "tekst")
        w.put(r, 6, ind.label, "tekst")
        put_shown(w, r, 7, cell, ind.soort, "", row.status)
        w.put(r, 8, status_nl(row.status, row.gebied_type), "tekst")
        w.put(r, 9, (cell.reason if cell is not None and cell.hidden else ""), "tekst")
        w.put(r, 10, row.indicator, "tekst")
        w.put(r, 11, row.levering_id, "tekst")
        r += 1
    last = max(r - 1, header_row + 1)
    table = Table(displayName=TABLE_NAME, ref=f"A{header_row}:K{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True, showColumnStripes=False,
                                          showFirstColumn=False, showLastColumn=False)
    ws.add_table(table)
    w.fix_width(7, 10)
    w.finish(freeze=f"A{header_row + 1}", title_rows=f"1:{header_row}", max_width=44)
