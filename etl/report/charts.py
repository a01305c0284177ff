"""Native Excel charts (openpyxl): XmR line charts and funnel scatter charts.

Charts reference cells on their own sheet, never copies of the numbers, so the chart
shows exactly what the table shows: a hidden (``<5``/``x``) or missing value is an
empty cell, which Excel and LibreOffice draw as a gap (``dispBlanksAs="gap"``).
"""

from __future__ import annotations

import math

from openpyxl.chart import LineChart, Reference, ScatterChart, Series
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.chart.legend import LegendEntry
from openpyxl.chart.marker import DataPoint, Marker
from openpyxl.chart.series import SeriesLabel
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
SIGNAL_COLOR = "ED7D31"   # orange diamond: a quarter that takes part in a signal

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


def axis_format(value_format: str) -> str:
    """The axis shows whole steps: ``0%`` for shares (not ``0.0%``), ``#,##0`` otherwise where
    the values are counts; decimals only where the values have them."""
    return "0%" if value_format.endswith("%") else value_format


def share_axis_range(values) -> tuple[float, float]:
    """A percentage axis in steps of 10 %: a little below the lowest and above the highest value
    drawn, never below 0 % or above 100 % (a share cannot be 120 %)."""
    drawn = [v for v in values if v is not None]
    if not drawn:
        return 0.0, 1.0
    top = min(1.0, max(0.1, math.ceil(max(drawn) * 10 + 0.5) / 10))
    bottom = max(0.0, math.floor(min(drawn) * 10 - 0.5) / 10)
    return (round(bottom, 1), round(top, 1)) if bottom < top else (0.0, top)


def _axes(chart, y_format: str, y_title: str, x_title: str | None = None,
          y_range: tuple[float, float] | None = None) -> None:
    chart.y_axis.title = y_title
    chart.y_axis.number_format = axis_format(y_format)
    if y_format.endswith("%"):
        lo, hi = y_range or (0.0, 1.0)
        chart.y_axis.scaling.min = lo
        chart.y_axis.scaling.max = hi
        chart.y_axis.majorUnit = 0.1 if hi - lo <= 0.6 else 0.2
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    if x_title:
        chart.x_axis.title = x_title
    chart.legend.position = "b"


def xmr_chart(ws: Worksheet, *, chart_title: str, y_title: str, y_format: str, cat_col: int, value_col: int,
              centre_col: int, upper_col: int, lower_col: int, header_row: int, first_row: int,
              last_row: int, signal_points: tuple[int, ...] = (),
              y_range: tuple[float, float] | None = None) -> LineChart:
    """Line chart: the indicator, its centre line and the process limits (XmR).

    ``signal_points`` (0-based positions in the series) get an orange diamond instead of
    the dark dot: a reader sees which quarters make the signal the text speaks of.
    """
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
    for idx in signal_points:
        point = DataPoint(idx=idx, marker=Marker(symbol="diamond", size=10))
        point.marker.graphicalProperties = GraphicalProperties(solidFill=SIGNAL_COLOR)
        point.marker.graphicalProperties.line.solidFill = SIGNAL_COLOR
        ch.series[0].dPt.append(point)
    ch.set_categories(Reference(ws, min_col=cat_col, min_row=first_row, max_row=last_row))
    _axes(ch, y_format, y_title, y_range=y_range)
    ch.layout = Layout(ManualLayout(x=0.02, y=0.12, w=0.96, h=0.62))
    return ch


def funnel_chart(ws: Worksheet, *, chart_title: str, x_title: str, y_title: str, y_format: str,
                 unit_x_col: int, unit_y_col: int, unit_first: int, unit_last: int, unit_title: str,
                 grid_x_col: int, grid_cols: dict[str, int], grid_first: int, grid_last: int,
                 log_x: bool, unit_name_col: int | None = None,
                 y_range: tuple[float, float] | None = None) -> ScatterChart:
    """Scatter chart: one marker per unit, lines for the reference and the 95%/99.8% limits.

    With ``unit_name_col`` every unit is its own one-point series titled by the name in
    that column and labelled with it (``showSerName``): the reader sees which dot is which
    wijk or gemeente without matching colours. Those series are left out of the legend.
    """
    ch = ScatterChart()
    ch.title = title_text(chart_title, 12)
    ch.style = 2
    ch.height = 11
    ch.width = 19
    ch.display_blanks = "gap"
    unit_series: list[Series] = []
    if unit_name_col is None:
        xs = Reference(ws, min_col=unit_x_col, min_row=unit_first, max_row=unit_last)
        ys = Reference(ws, min_col=unit_y_col, min_row=unit_first, max_row=unit_last)
        unit_series.append(Series(ys, xs, title=unit_title))
    else:
        for row in range(unit_first, unit_last + 1):
            xs = Reference(ws, min_col=unit_x_col, min_row=row, max_row=row)
            ys = Reference(ws, min_col=unit_y_col, min_row=row, max_row=row)
            s = Series(ys, xs, title_from_data=False)
            name_ref = Reference(ws, min_col=unit_name_col, min_row=row, max_row=row)
            s.tx = SeriesLabel(strRef=StrRef(str(name_ref)))
            s.dLbls = DataLabelList(showSerName=True, showVal=False, showCatName=False, showLegendKey=False,
                                    showPercent=False, showBubbleSize=False, dLblPos="r")
            unit_series.append(s)
    for pts in unit_series:
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
    _axes(ch, y_format, y_title, x_title, y_range=y_range)
    if unit_name_col is not None:
        ch.legend.legendEntry = [LegendEntry(idx=i, delete=True) for i in range(len(unit_series))]
    ch.x_axis.number_format = "#,##0"
    ch.x_axis.majorGridlines = None
    if log_x:
        ch.x_axis.scaling.logBase = 10
    return ch
