"""Funnelplots: municipalities and wijken against the region (city), with 95% and 99.8% limits.

Per funnel a block: the units (the chart's points), the limit lines on a grid of
sizes (the chart's lines) and a native scatter chart to the right. Hidden units have
an empty value cell (no marker) and say why.
"""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report.charts import funnel_chart
from etl.report.context import ReportContext
from etl.report.funnels import Funnel
from etl.report.sheets.common import paragraph, put_number, section
from etl.report.style import FMT_DEC1, FMT_PCT, SheetWriter, page_break_before

TITLE = "Funnelplots"
CHART_COL = "G"
GRID_HEADERS = ("Referentie", "95% onder", "95% boven", "99,8% onder", "99,8% boven")
CHART_ROWS = 24
COL_NUMBER = 6           # "Stip in grafiek": the label of each dot


def point_label(number: int) -> str:
    """A, B, ..., Z, AA, ...: the label of the n-th unit's dot."""
    text = ""
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(65 + rest) + text
    return text


def write(wb: Workbook, ctx: ReportContext, funnels: list[Funnel]) -> list[dict]:
    """Write the sheet; returns per funnel the table ranges (for tests).

    The funnel blocks (units table + chart) come first and are the print area; the
    limit-line tables the charts draw from follow below them, visible in Excel but
    not printed (a policy officer needs the lines, not 30 rows of their coordinates).
    """
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    r = w.title(f"Funnelplots — {label_nl(ctx.periode)}",
                "Elke stip is een gemeente of wijk; de letter bij de stip staat in de tabel (Stip in grafiek). Binnen "
                "de lijnen: verschil met de regio (stad) past bij toeval. Buiten de 99,8%-lijnen: duidelijk afwijkend. "
                "Hoger is niet per se slechter.")
    layout: list[dict] = []
    for i, f in enumerate(funnels):
        kind = "pct" if f.kind == "share" else "dec1"
        if i and i % 2 == 0:
            page_break_before(ws, r)
        start = r
        w.put(r, 1, f.title, "sectie", measure=False)
        for c in range(2, 6):
            w.put(r, c, None, "sectie", measure=False)
        r += 1
        if f.note:
            w.put(r, 1, f.note, "notitie", measure=False)
            r += 1
        unit_header = r
        w.header(r, ["Gemeente" if f.kind == "rate" else "Wijk", f.x_label, f.y_label, "Positie", "Opmerking",
                     "Stip in grafiek"])
        r += 1
        first_unit = r
        for number, u in enumerate(f.units, start=1):
            w.put(r, 1, u.naam, "tekst")
            # The dot's label in the chart: a letter is short where dots cluster, and is no count.
            w.put(r, COL_NUMBER, point_label(number) if u.value is not None else "", "vergelijk_gelijk")
            put_number(w, r, 2, u.size, "count", empty="ontbreekt")
            if u.value is not None:
                put_number(w, r, 3, u.value, kind)
                w.put(r, 5, None, "tekst")
            else:
                w.put(r, 3, None, kind)
                text = f"{u.shown} (afgeschermd)" if isinstance(u.shown, str) else "ontbreekt"
                if u.reason:
                    text = f"{u.shown}: {u.reason}"
                w.put(r, 5, text, "notitie_wrap")
            w.put(r, 4, u.position, "vergelijk_gelijk" if u.position.startswith(("binnen", "afgeschermd", "ontbreekt", "–"))
                  else "vergelijk_hoger")
            r += 1
        last_unit = r - 1
        w.put(r, 1, "Referentie (regio)" if f.kind == "rate" else "Referentie (stad)", "label_tot")
        w.put(r, 2, None, "label_tot")
        put_number(w, r, 3, f.reference, kind, "tot", empty="ontbreekt")
        w.put(r, 4, None, "label_tot")
        w.put(r, 5, None, "label_tot")
        w.put(r, COL_NUMBER, None, "label_tot")
        layout.append({"key": f.key, "start": start, "unit_rows": (first_unit, last_unit), "unit_header": unit_header})
        r = max(r + 2, start + CHART_ROWS + 1)
    print_end = r - 1
    r = paragraph(w, r, "Grenzen volgens Spiegelhalter (2005): Poisson voor meldingen per 1.000 inwoners, binomiaal "
                        "voor het nazorg-aandeel, rond het regio- of stadscijfer. Een afgeschermde gemeente of wijk "
                        "staat niet in de grafiek.", last_col=12, style="notitie_wrap", chars_per_line=170)
    print_end = r - 1

    # The limit lines the charts draw, below the print area.
    r = section(w, r + 1, "Gegevens van de grenslijnen (voor de grafieken)", last_col=6)
    for f, info in zip(funnels, layout, strict=True):
        kind = "pct" if f.kind == "share" else "dec1"
        w.put(r, 1, f.title, "vet", measure=False)
        r += 1
        info["grid_header"] = r
        w.header(r, [f.x_label, *GRID_HEADERS])
        r += 1
        first_grid = r
        for point in f.grid:
            lo95, hi95 = point.limits[0.95]
            lo998, hi998 = point.limits[0.998]
            put_number(w, r, 1, point.size, "count")
            for c, v in enumerate((f.reference, lo95, hi95, lo998, hi998), start=2):
                put_number(w, r, c, v, kind)
            r += 1
        info["grid_rows"] = (first_grid, r - 1)
        r += 1
        if f.grid and any(u.value is not None for u in f.units):
            first_unit, last_unit = info["unit_rows"]
            chart = funnel_chart(
                ws, chart_title=f.title,
                x_title=f.x_label + (" (logaritmische schaal)" if f.kind == "rate" else ""),
                y_title=f.y_label, y_format=FMT_PCT if f.kind == "share" else FMT_DEC1,
                unit_x_col=2, unit_y_col=3, unit_first=first_unit, unit_last=last_unit,
                unit_title="Gemeenten" if f.kind == "rate" else "Wijken",
                grid_x_col=1, grid_cols={"Regio" if f.kind == "rate" else "Stad": 2, "95% onder": 3,
                                         "95% boven": 4, "99,8% onder": 5, "99,8% boven": 6},
                grid_first=first_grid, grid_last=info["grid_rows"][1], log_x=f.kind == "rate",
                unit_name_col=COL_NUMBER, y_range=(0.0, 1.0) if f.kind == "share" else None)
            ws.add_chart(chart, f"{CHART_COL}{info['start']}")
            info["chart"] = True
        else:
            w.put(info["start"] + 1, 7, "Geen grafiek: te weinig zichtbare gegevens.", "notitie", measure=False)
            info["chart"] = False
    w.fix_width(1, 22)
    w.fix_width(2, 14)
    w.fix_width(3, 14)
    w.fix_width(4, 19)
    w.fix_width(5, 34)
    w.fix_width(6, 12)
    w.finish(freeze=None, title_rows="1:3")
    ws.print_area = f"A1:R{print_end}"
    return layout
