"""Native Excel charts (openpyxl): XmR line charts and funnel scatter charts.

Charts reference cells on their own sheet, never copies of the numbers, so the chart
shows exactly what the table shows: a hidden (``<5``/``x``) or missing value is an
empty cell, which Excel and LibreOffice draw as a gap (``dispBlanksAs="gap"``).
"""

from __future__ import annotations

from openpyxl.chart import LineChart, Reference, ScatterChart, Series
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import (
    CharacterProperties,
    Paragraph,
    ParagraphProperties,
    RegularTextRun,
)
from openpyxl.worksheet.worksheet import Worksheet

from etl.report.style import DARK

VALUE_COLOR = DARK
CENTRE_COLOR = "7F7F7F"
LIMIT_COLOR = "C00000"
NEAR_COLOR = "ED7D31"
POINT_COLOR = "2E75B6"

_W = 12700  # EMU per point


def title_text(text: str, size_pt: float = 11) -> Title:
    """A chart title in a modest size (the default renders at 18 pt and eats the plot area)."""
    props = CharacterProperties(sz=int(size_pt * 100), b=True, solidFill=DARK)
    para = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def _marker(series, color: str, symbol: str = "circle", size: int = 6) -> None:
    series.marker.symbol = symbol
    series.marker.size = size
    series.marker.graphicalProperties = GraphicalProperties(solidFill=color)
    series.marker.graphicalProperties.line.solidFill = color


def _line(series, color: str, width_pt: float = 1.5, dash: str | None = None, marker: str | None = None) -> None:
    gp = series.graphicalProperties
    gp.line.solidFill = color
    gp.line.width = int(width_pt * _W)
    if dash:
        gp.line.dashStyle = dash
    series.smooth = False
    if marker:
        _marker(series, color, marker)
    else:
        series.marker.symbol = "none"


def _axes(chart, y_format: str, y_title: str, x_title: str | None = None) -> None:
    chart.y_axis.title = y_title
    chart.y_axis.number_format = y_format
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    if x_title:
        chart.x_axis.title = x_title
    chart.legend.position = "b"


def xmr_chart(ws: Worksheet, *, chart_title: str, y_title: str, y_format: str, cat_col: int, value_col: int,
              centre_col: int, upper_col: int, lower_col: int, header_row: int, first_row: int,
              last_row: int) -> LineChart:
    """Line chart: the indicator, its centre line and the process limits (XmR)."""
    ch = LineChart()
    ch.title = title_text(chart_title)
    ch.height = 7.2
    ch.width = 15.5
    ch.display_blanks = "gap"
    for col, color, dash, marker, width in (
        (value_col, VALUE_COLOR, None, "circle", 2.0),
        (centre_col, CENTRE_COLOR, None, None, 1.25),
        (upper_col, LIMIT_COLOR, "dash", None, 1.25),
        (lower_col, LIMIT_COLOR, "dash", None, 1.25),
    ):
        ch.add_data(Reference(ws, min_col=col, min_row=header_row, max_row=last_row), titles_from_data=True)
        _line(ch.series[-1], color, width, dash, marker)
    ch.set_categories(Reference(ws, min_col=cat_col, min_row=first_row, max_row=last_row))
    _axes(ch, y_format, y_title)
    ch.layout = Layout(ManualLayout(x=0.02, y=0.12, w=0.96, h=0.62))
    return ch


def funnel_chart(ws: Worksheet, *, chart_title: str, x_title: str, y_title: str, y_format: str,
                 unit_x_col: int, unit_y_col: int, unit_first: int, unit_last: int, unit_title: str,
                 grid_x_col: int, grid_cols: dict[str, int], grid_first: int, grid_last: int,
                 log_x: bool) -> ScatterChart:
    """Scatter chart: one marker per unit, lines for the reference and the 95%/99.8% limits."""
    ch = ScatterChart()
    ch.title = title_text(chart_title, 12)
    ch.style = 2
    ch.height = 11
    ch.width = 19
    ch.display_blanks = "gap"
    xs = Reference(ws, min_col=unit_x_col, min_row=unit_first, max_row=unit_last)
    ys = Reference(ws, min_col=unit_y_col, min_row=unit_first, max_row=unit_last)
    pts = Series(ys, xs, title=unit_title)
    _marker(pts, POINT_COLOR, "circle", 7)
    pts.graphicalProperties.line.noFill = True
    ch.series.append(pts)
    gx = Reference(ws, min_col=grid_x_col, min_row=grid_first, max_row=grid_last)
    styles = {
        "Regio": (CENTRE_COLOR, None, 1.25),
        "95%": (NEAR_COLOR, "dash", 1.25),
        "99,8%": (LIMIT_COLOR, "dash", 1.25),
    }
    for name, col in grid_cols.items():
        key = next((k for k in styles if k in name), "Regio")
        color, dash, width = styles[key]
        s = Series(Reference(ws, min_col=col, min_row=grid_first, max_row=grid_last), gx, title=name)
        _line(s, color, width, dash)
        ch.series.append(s)
    _axes(ch, y_format, y_title, x_title)
    ch.x_axis.number_format = "#,##0"
    ch.x_axis.majorGridlines = None
    if log_x:
        ch.x_axis.scaling.logBase = 10
    return ch
