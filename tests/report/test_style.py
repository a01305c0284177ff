"""The style writer: a named style set once per name and copied after gives every cell what
``cell.style = name`` gives it, and cells do not share one style array."""

from __future__ import annotations

from openpyxl import Workbook

from etl.report.style import SheetWriter, register


def test_cached_named_styles_are_what_openpyxl_assigns():
    wb = Workbook()
    register(wb)
    names = list(wb.named_styles)
    ours, plain = wb.active, wb.create_sheet("plain")
    writer = SheetWriter(ours)
    for r in range(1, 4):                                # each style three times: first, then cached
        for c, name in enumerate(names, start=1):
            writer.put(r, c, f"{name} {r}", name, measure=False)
            cell = plain.cell(row=r, column=c, value=f"{name} {r}")
            cell.style = name
    for r in range(1, 4):
        for c, name in enumerate(names, start=1):
            a, b = ours.cell(row=r, column=c), plain.cell(row=r, column=c)
            assert a.style == b.style == name and a._style == b._style, name     # the same style array
            assert repr(a.font) + repr(a.fill) + repr(a.alignment) == repr(b.font) + repr(b.fill) + repr(b.alignment)
    first, second = ours.cell(row=1, column=1), ours.cell(row=2, column=1)
    second.font = second.font.copy(bold=not second.font.b)    # changing one cell changes only that cell
    assert first.font.b != second.font.b
