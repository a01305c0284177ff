"""Quarterly workbook for policy staff (first version: summary + one sheet per source)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from etl.config import DataDirs
from etl.dataset import load
from etl.quarters import label_nl


def suppress(v: float | None) -> object:
    if v is None or pd.isna(v):
        return None
    if 1 <= v <= 4 and float(v).is_integer():
        return "<5"
    return v


def build_workbook(periode: str, dirs: DataDirs | None = None) -> Path:
    dirs = (dirs or DataDirs.from_env()).ensure()
    df = load([periode], dirs)
    wb = Workbook()
    ws = wb.active
    ws.title = "Samenvatting"
    ws.append([f"Monitor huiselijk geweld en kindermishandeling — {label_nl(periode)}"])
    ws.append(["bron", "gebied", "indicator", "waarde"])
    for r in df[df.gebied_type == "regio"].itertuples():
        ws.append([r.bron, r.gebied_code, r.indicator, suppress(r.waarde)])
    for bron, g in df.groupby("bron"):
        s = wb.create_sheet(bron)
        s.append(["gebied_type", "gebied_code", "indicator", "waarde", "status"])
        for r in g.itertuples():
            s.append([r.gebied_type, r.gebied_code, r.indicator, suppress(r.waarde), r.status])
    out = dirs.reports / f"monitor_{periode}.xlsx"
    wb.save(out)
    return out
