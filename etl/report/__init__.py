"""The quarterly workbook for policy staff (issues 4 and 7).

``build_workbook(periode, dirs)`` gathers the quarter and its seven predecessors
(``context``), applies disclosure control once per quarter (``protect`` over
``etl.report.disclosure``), computes key indicators with intervals and XmR verdicts
(``keyfigures``) and funnel data (``funnels``), writes one sheet per module in
``sheets/`` in the look defined by ``style``, and saves reproducibly (``package``).

Module map::

    context.py     read the store once: history, deliveries, protected views
    protect.py     cells + additive constraints per quarter -> etl.report.disclosure.suppress
    keyfigures.py  key indicators: value, interval, history, XmR verdict
    funnels.py     funnel-plot units and limits
    charts.py      native line / scatter charts
    style.py       named styles, number formats, widths, print setup
    package.py     reproducible zip, atomic write
    layout.py      include/rapport.yaml: which per-source sheets, in which layout
    sheets/*.py    one module per sheet; sheets/bron.py renders the per-source sheets
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

from etl.core.config import DataDirs
from etl.report import funnels as funnel_data
from etl.report import keyfigures, style
from etl.report.context import ReportContext, gather
from etl.report.package import to_bytes, write_atomic
from etl.report.sheets import (
    bron,
    data,
    datakwaliteit,
    definities,
    funnelplots,
    samenvatting,
    trends,
    voorblad,
)

__all__ = ["build_workbook", "render", "SHEET_ORDER"]

#: Sheet order; the per-source sheets come from include/rapport.yaml.
SHEET_ORDER = (voorblad.TITLE, samenvatting.TITLE, *bron.titles(),
               trends.TITLE, funnelplots.TITLE, datakwaliteit.TITLE, definities.TITLE, data.TITLE)


def render(ctx: ReportContext) -> Workbook:
    """The workbook for a gathered context (no file I/O: tests and benchmarks can call it)."""
    wb = Workbook()
    wb.remove(wb.active)
    style.register(wb)
    figures = keyfigures.compute(ctx)
    funnels = funnel_data.compute(ctx)
    voorblad.write(wb, ctx)
    samenvatting.write(wb, ctx, figures)
    bron.write_all(wb, ctx)
    trends.write(wb, ctx, figures)
    funnelplots.write(wb, ctx, funnels)
    datakwaliteit.write(wb, ctx)
    definities.write(wb, ctx)
    data.write(wb, ctx)
    wb.active = 0
    props = wb.properties
    props.title = f"Monitor huiselijk geweld en kindermishandeling {ctx.periode}"
    props.creator = "Monitor huiselijk geweld (etl.report)"
    props.lastModifiedBy = props.creator
    props.subject = "Kwartaalrapportage regio Groningen"
    props.language = "nl-NL"
    return wb


def build_workbook(periode: str, dirs: DataDirs | None = None, *, made_at: dt.datetime | None = None) -> Path:
    """Build ``reports/monitor_<periode>.xlsx`` and return its path.

    ``made_at`` (default: now, Europe/Amsterdam) is the only input besides the store:
    the same store and the same ``made_at`` give the same bytes.
    """
    dirs = (dirs or DataDirs.from_env()).ensure()
    ctx = gather(periode, dirs, made_at)
    wb = render(ctx)
    return write_atomic(dirs.reports / f"monitor_{periode}.xlsx", to_bytes(wb, ctx.made_at))
