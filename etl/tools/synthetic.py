"""A valid delivery for any source, generated from its description alone.

The hand-tuned sample generator (``etl.tools.samples``) knows the three founding partners
and their magnitudes. A new partner is data, so its first sample must be too: this
module fills every sheet of a source whose rows are per municipality (``tidy: gemeente``)
or per region (``tidy: regio``) from the column types and rules in include/sources.yaml,
and returns the figures it wrote so that a test can check them end to end.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from openpyxl import Workbook

from etl.core.files import write_atomic
from etl.core.quarters import label_nl
from etl.core.reference import gemeenten
from etl.core.sources import Sheet, Source

SUPPORTED_KINDS = ("gemeente", "regio")

#: (sheet name, CBS code or None for a region row, column) -> value written
Truth = dict[tuple[str, str | None, str], int]


def _counts(sheet: Sheet, rng: random.Random) -> dict[str, int]:
    """Counts that satisfy the sheet's sum and lte rules (parts first, totals from them)."""
    values = {c.name: rng.randint(5, 120) for c in sheet.columns if c.is_numeric}
    for rule in sheet.rules:
        if rule.kind == "sum":
            values[rule["total"]] = sum(values[p] for p in rule["parts"])
    for rule in sheet.rules:
        if rule.kind == "lte" and values[rule["small"]] > values[rule["large"]]:
            values[rule["small"]] = values[rule["large"]]
        elif rule.kind not in ("sum", "lte"):
            raise ValueError(f"{sheet.name}: rule {rule.kind!r} needs a hand-written sample (etl.tools.samples)")
    return values


def write_synthetic(source: Source, periode: str, path: Path, seed: int = 1) -> Truth:
    """Write ``path`` (.xlsx) with one delivery of ``source`` for ``periode``; return the counts."""
    rng = random.Random(f"{source.key}-{periode}-{seed}")
    wb = Workbook()
    wb.remove(wb.active)
    truth: Truth = {}
    for sheet in source.sheets:
        if sheet.tidy not in SUPPORTED_KINDS:
            raise ValueError(f"{source.key}/{sheet.name}: tidy {sheet.tidy!r} needs a hand-written sample")
        ws = wb.create_sheet(sheet.name)
        ws.append([f"{source.naam} — {sheet.name} — {label_nl(periode)}"])   # a title row, as partners do
        ws.append([])
        ws.append([c.name for c in sheet.columns])
        areas = [g.code for g in gemeenten()] if sheet.tidy == "gemeente" else [None]
        for code in areas:
            counts = _counts(sheet, rng)
            row = []
            for c in sheet.columns:
                if c.type == "periode":
                    row.append(periode)
                elif c.type == "gemeente":
                    row.append(next(g.naam for g in gemeenten() if g.code == code))
                elif c.is_numeric:
                    row.append(counts[c.name])
                    truth[(sheet.name, code, c.name)] = counts[c.name]
                elif not c.required or c.nullable:
                    row.append(None)
                else:
                    raise ValueError(f"{source.key}/{sheet.name}: column type {c.type!r} is not generated")
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    write_atomic(path, buf.getvalue())
    return truth
