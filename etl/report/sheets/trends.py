"""Trends: eight quarters per key indicator, with the average and the limits of ordinary variation (XmR).

Each block is a small table (the chart's source, so the chart shows exactly the table)
and a native line chart next to it. A hidden or missing quarter is an empty value
cell with the reason in the next column: the chart draws a gap there, never a zero.
"""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report.charts import share_axis_range, xmr_chart
from etl.report.context import ReportContext
from etl.report.keyfigures import KeyFigure
from etl.report.sheets.common import UNIT_TEXT, put_number
from etl.report.sheets.samenvatting import VERDICT_STYLE
from etl.report.style import (
    FMT_COUNT,
    FMT_DEC1,
    FMT_PCT,
    KIND_FORMAT,
    MISSING_TEXT,
    SheetWriter,
    hidden_style,
    page_break_before,
)

TITLE = "Trends"
BLOCK_ROWS = 17          # rows per indicator: title, header, 8 quarters, room for the chart
CHART_COL = "I"
PER_PAGE = 2             # blocks per printed page
HEADERS = ["Kwartaal", "Waarde", "Opmerking", "Gemiddelde", "Bovengrens", "Ondergrens"]
AXIS_FORMAT = {"count": FMT_COUNT, "dec1": FMT_DEC1, "pct": FMT_PCT}

# Where each block's table sits (used by the tests to check the chart references).
COL_QUARTER, COL_VALUE, COL_NOTE, COL_CENTRE, COL_UPPER, COL_LOWER = range(1, 7)


def _clip(v: float | None, soort: str) -> float | None:
    if v is None:
        return None
    v = max(v, 0.0)
    return min(v, 1.0) if soort == "aandeel" else v


def _share_range(k: KeyFigure) -> tuple[float, float]:
    """A percentage axis around the values and limits drawn, within 0-100 %."""
    res = k.xmr
    drawn = [p.value for p in k.points]
    if res.has_limits:
        drawn += [_clip(res.upper_process_limit, "aandeel"), _clip(res.lower_process_limit, "aandeel")]
    return share_axis_range(drawn)


def write(wb: Workbook, ctx: ReportContext, figures: list[KeyFigure]) -> list[tuple[str, int]]:
    """Write the sheet; returns (key indicator id, header row) per block."""
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    r = w.title(f"Trends over acht kwartalen — t/m {label_nl(ctx.periode)}",
                "Per kernindicator: de waarde per kwartaal, het gemiddelde en de boven- en ondergrens van gewone "
                "schommeling. Een kwartaal buiten die grenzen, kwartalen op rij duidelijk hoger of lager dan gewoonlijk, "
                "of een lange reeks aan één kant is een signaal; die kwartalen zijn in de grafiek oranje gemarkeerd.")
    blocks: list[tuple[str, int]] = []
    for i, k in enumerate(figures):
        if i and i % PER_PAGE == 0:
            page_break_before(ws, r)
        soort = k.indicator.soort
        value_fmt = KIND_FORMAT[soort]
        limit_fmt = "pct" if soort == "aandeel" else "dec1"
        gebied = ctx.catalogue.gebieden[k.spec.gebied]
        w.put(r, 1, f"{k.indicator.label} — {gebied}", "sectie", measure=False)
        for c in range(2, 7):
            w.put(r, c, None, "sectie", measure=False)
        w.put(r, 7, k.verdict, VERDICT_STYLE.get(k.verdict, "tekst"), measure=False)
        r += 1
        header_row = r
        w.header(r, HEADERS)
        first = r + 1
        res = k.xmr
        marked = set(k.signal_points)
        for i, p in enumerate(k.points):
            row = first + i
            w.put(row, COL_QUARTER, p.periode, "tekst")
            if p.value is not None:
                w.put(row, COL_VALUE, p.value, value_fmt)
                w.put(row, COL_NOTE, "signaal (oranje in de grafiek)" if i in marked else "", "notitie")
            else:
                w.put(row, COL_VALUE, None, value_fmt)
                reason = p.note or (f"{p.shown} (afgeschermd)" if p.shown is not None else MISSING_TEXT)
                w.put(row, COL_NOTE, reason, hidden_style())
            has = res.has_limits
            put_number(w, row, COL_CENTRE, res.mean if has else None, limit_fmt, empty=None)
            put_number(w, row, COL_UPPER, _clip(res.upper_process_limit, soort) if has else None, limit_fmt, empty=None)
            put_number(w, row, COL_LOWER, _clip(res.lower_process_limit, soort) if has else None, limit_fmt, empty=None)
        last = first + len(k.points) - 1
        note_row = last + 1
        note = f"Gewenste richting: {ctx.catalogue.richtingen[k.spec.richting]}. {k.signal_text.capitalize()}."
        if k.limits_note:
            note += f" {k.limits_note.capitalize()}."
        w.put(note_row, 1, note, "notitie", measure=False)
        chart = xmr_chart(ws, chart_title=f"{k.indicator.label} ({gebied})", y_title=UNIT_TEXT[soort],
                          y_format=AXIS_FORMAT[value_fmt], cat_col=COL_QUARTER, value_col=COL_VALUE,
                          centre_col=COL_CENTRE, upper_col=COL_UPPER, lower_col=COL_LOWER,
                          header_row=header_row, first_row=first, last_row=last,
                          signal_points=k.signal_points, y_range=_share_range(k) if soort == "aandeel" else None)
        ws.add_chart(chart, f"{CHART_COL}{header_row - 1}")
        blocks.append((k.spec.id, header_row))
        r = header_row - 1 + BLOCK_ROWS
    w.fix_width(1, 14)
    w.fix_width(3, 22)
    w.fix_width(7, 28)
    w.finish(freeze=None, title_rows="1:3")
    return blocks

