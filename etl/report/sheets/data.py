"""Data: the quarter's combined dataset as a filterable Excel table, after disclosure control.

The values are the protected cells of the same quarter view every other sheet reads,
so a filter here can never show what a table elsewhere hides.

The ``herkomst`` column says where each figure came from (docs/provenance.md): the
file name and the cell (``VeiligThuis_Groningen_2024-Q4.xlsx › Meldingen!D7``), the
rows and rule of a derived figure, the cells a region total adds up. The rule: no
provenance text shows a value disclosure control hides. A hidden figure's text says
that it is hidden and names only the file: its cell would let a holder of the file
look the value up, and the row count of a derived count is the count itself.
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
           "Afscherming", "Sleutel van de indicator", "Kenmerk van de levering",
           "Herkomst"]

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
            ("Regio Groningen" if row.gebied_code == "regio" else "Regio Groningen (geleverde organisaties)")
            if row.gebied_type == "regio" else row.gebied_code)
        w.put(r, 1, row.periode, "tekst")
        w.put(r, 2, ctx.source_name(row.bron), "tekst")
        w.put(r, 3, GEBIED_TYPE_NL.get(row.gebied_type, row.gebied_type), "tekst")
        w.put(r, 4, gebied, "tekst")
        w.put(r, 5, row.gebied_code if row.gebied_type in ("gemeente", "regio") else "", "tekst")
        w.put(r, 6, ind.label, "tekst")
        put_shown(w, r, 7, cell, ind.soort, "", row.status)
        w.put(r, 8, status_nl(row.status, row.gebied_type), "tekst")
        w.put(r, 9, (cell.reason if cell is not None and cell.hidden else ""), "tekst")
        w.put(r, 10, row.indicator, "tekst")
        w.put(r, 11, row.levering_id, "tekst")
        # A region total over organisations (etl.store.regions) says which it adds up, and who is missing.
        note = getattr(row, "toelichting", "") or ""
        w.put(r, 12, note or herkomst_text(ctx.herkomst, key, cell is not None and cell.hidden), "notitie")
        r += 1
    last = max(r - 1, header_row + 1)
    table = Table(displayName=TABLE_NAME, ref=f"A{header_row}:L{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True, showColumnStripes=False,
                                          showFirstColumn=False, showLastColumn=False)
    ws.add_table(table)
    w.fix_width(7, 10)
    w.finish(freeze=f"A{header_row + 1}", title_rows=f"1:{header_row}", max_width=44)


def herkomst_text(records: dict, key: tuple[str, str, str, str], hidden: bool) -> str:
    """One ``herkomst`` cell: ``file › Meldingen!D7``, ``file › Casussen: 41 regels, ...``, ``file › som van ...``."""
    if key not in records:
        return "herkomst niet vastgelegd"
    name, rec = records[key]
    if hidden:
        return f"{name} › afgeschermd cijfer: cel en regels niet getoond"
    soort = rec.get("soort")
    if soort == "cel":
        return f"{name} › {rec['tabblad']}!{rec['cel']}" if rec.get("cel") else f"{name} › {rec['tabblad']}: niet in het bestand"
    if soort == "regels":
        return f"{name} › {rec['tabblad']}: {rec['aantal_rijen']} regels, {rec['regel']}"
    if soort == "som":
        cells = [records.get((key[0], *part), ("", {}))[1] for part in rec.get("delen", [])]
        where = _cell_span([c for c in cells if c.get("cel")])
        missing = f"; ontbreekt: {', '.join(rec['ontbrekend'])}" if rec.get("ontbrekend") else ""
        return f"{name} › som van {len(cells)} waarden: {where or 'zie de onderdelen'}{missing}"
    if soort == "geen_regel":
        return f"{name} › {rec['tabblad']}: {rec['regel']}"
    if soort == "verhouding":
        return f"{name} › {rec.get('regel') or rec['teller'][2] + ' / ' + rec['noemer'][2]}"
    return f"{name} › herkomst onbekend"


def _cell_span(recs: list[dict]) -> str:
    """``Meldingen!D4:D13`` for one column's contiguous cells, else the cells listed."""
    if not recs:
        return ""
    sheets = {r["tabblad"] for r in recs}
    addresses = [r["cel"] for r in recs]
    letters = {a.rstrip("0123456789") for a in addresses}
    if len(sheets) == 1 and len(letters) == 1:
        letter = letters.pop()
        rows = sorted(int(a[len(letter):]) for a in addresses)
        if rows == list(range(rows[0], rows[-1] + 1)):
            return f"{sheets.pop()}!{letter}{rows[0]}:{letter}{rows[-1]}"
    return ", ".join(f"{r['tabblad']}!{r['cel']}" for r in recs)
