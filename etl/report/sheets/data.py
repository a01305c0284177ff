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
COLUMNS = ["periode", "bron", "gebied_type", "gebied_code", "gebied", "indicator", "omschrijving", "waarde",
           "status", "afscherming", "levering_id"]


def write(wb: Workbook, ctx: ReportContext) -> None:
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    r = w.title(f"Data — {label_nl(ctx.periode)}",
                "Alle cijfers van dit kwartaal, één rij per waarde, zoals in de andere tabbladen afgeschermd. "
                "Gebruik de filterknoppen in de kopregel.")
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
        w.put(r, 2, row.bron, "tekst")
        w.put(r, 3, row.gebied_type, "tekst")
        w.put(r, 4, row.gebied_code, "tekst")
        w.put(r, 5, gebied, "tekst")
        w.put(r, 6, row.indicator, "tekst")
        w.put(r, 7, ind.label, "tekst")
        put_shown(w, r, 8, cell, ind.soort, "", row.status)
        w.put(r, 9, row.status, "tekst")
        w.put(r, 10, (cell.reason if cell is not None and cell.hidden else ""), "tekst")
        w.put(r, 11, row.levering_id, "notitie")
        r += 1
    last = max(r - 1, header_row + 1)
    table = Table(displayName=TABLE_NAME, ref=f"A{header_row}:K{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True, showColumnStripes=False,
                                          showFirstColumn=False, showLastColumn=False)
    ws.add_table(table)
    w.fix_width(8, 10)
    w.finish(freeze=f"A{header_row + 1}", title_rows=f"1:{header_row}", max_width=44)
