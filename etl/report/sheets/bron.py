"""One sheet per source, from include/rapport.yaml: the generic table layout and the registry.

The generic layout shows, per table, the protected counts of one sheet of the source for
every municipality and the region total (or the region row alone). A named layout is a
module of this package with extra analysis; the registry below is the only place that
maps a layout name to code, so a new source needs no change here.
"""

from __future__ import annotations

from collections.abc import Callable

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report.context import ReportContext
from etl.report.layout import GENERIC, SourceSheet, load_layout
from etl.report.protect import REGIO
from etl.report.sheets import veilig_thuis, vrouwenopvang, wij
from etl.report.sheets.common import put_shown, section, source_sheet
from etl.report.style import text_style

NAMED: dict[str, tuple[str, Callable[[Workbook, ReportContext], None]]] = {
    "veilig_thuis": (veilig_thuis.TITLE, veilig_thuis.write),
    "wij": (wij.TITLE, wij.write),
    "vrouwenopvang": (vrouwenopvang.TITLE, vrouwenopvang.write),
}


def titles() -> tuple[str, ...]:
    """Sheet names of the per-source sheets, in workbook order."""
    return tuple(NAMED[s.opmaak][0] if s.opmaak in NAMED else s.titel for s in load_layout())


def write_all(wb: Workbook, ctx: ReportContext) -> None:
    for spec in load_layout():
        if spec.opmaak == GENERIC:
            write_table(wb, ctx, spec)
        elif spec.opmaak in NAMED:
            NAMED[spec.opmaak][1](wb, ctx)
        else:
            raise ValueError(f"rapport.yaml: {spec.bron}: unknown opmaak {spec.opmaak!r}; "
                             f"known: {GENERIC}, {', '.join(NAMED)}")


def write_table(wb: Workbook, ctx: ReportContext, spec: SourceSheet) -> None:
    cat = ctx.catalogue
    view = ctx.view
    w, r = source_sheet(wb, ctx, spec.titel, spec.bron, f"{spec.kop} — {label_nl(ctx.periode)}",
                        spec.uitleg or f"Aantallen zoals {spec.partner} ze aanleverde; <5 en x: afgeschermd.",
                        spec.partner)
    first_header = None
    width = 1 + max((len(t.indicatoren) for t in spec.tabellen), default=1)
    for n, table in enumerate(spec.tabellen):
        if n:
            r += 1
        r = section(w, r, table.kop, last_col=width)
        first_label = "Gemeente" if table.gebied == "gemeente" else "Gebied"
        w.header(r, [first_label, *[cat.label(spec.bron, i) for i in table.indicatoren]])
        first_header = first_header or r
        r += 1
        areas = [(*REGIO, "Regio totaal", "tot")]
        if table.gebied == "gemeente":
            areas = [("gemeente", g.code, g.naam, "") for g in ctx.gemeenten] + areas
        for gtype, code, name, kind in areas:
            w.put(r, 1, name, text_style(kind))
            for offset, ind in enumerate(table.indicatoren):
                put_shown(w, r, 2 + offset, view.get(spec.bron, gtype, code, ind), cat.soort(spec.bron, ind), kind,
                          view.status.get((spec.bron, gtype, code, ind)))
            r += 1
    w.fix_width(1, 28)
    header = first_header or r
    w.finish(freeze=f"B{header + 1}", title_rows=f"1:{header - 1}" if header > 1 else None)
