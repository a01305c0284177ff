"""The combined dataset as users get it: the contract's columns, exact values."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd

from etl.core.config import DataDirs
from etl.core.files import write_atomic
from etl.store.db import DATASET_COLUMNS, Store
from etl.store.regions import EXTRA_COLUMNS, with_region_totals


def load(periodes: list[str] | None = None, dirs: DataDirs | None = None) -> pd.DataFrame:
    """The current values of ``periodes`` with the region totals over organisations
    (etl.store.regions), plus ``organisatie`` and ``toelichting`` beside the contract's columns."""
    dirs = dirs or DataDirs.from_env()
    if not Store.exists(dirs):
        return pd.DataFrame(columns=[*DATASET_COLUMNS, *EXTRA_COLUMNS])
    with Store.open(dirs) as store:
        return with_region_totals(store.dataset(periodes))


def format_value(v: object) -> str:
    """Counts print as whole numbers, fractions at full precision, missing as empty."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    f = float(v)
    return str(int(f)) if f.is_integer() else repr(f)


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(DATASET_COLUMNS)
    for row in df[DATASET_COLUMNS].itertuples(index=False):
        rec = list(row)
        rec[5] = format_value(rec[5])
        w.writerow(rec)
    return buf.getvalue()


def export_quarter(periode: str, dirs: DataDirs | None = None) -> dict:
    """Write the quarter's combined dataset (exact values, internal) next to the store.

    Exact values never leave the pipeline's own disk: this file is for engineers and
    the warehouse load; everything policy staff get is suppressed by ``etl.report``.
    """
    dirs = (dirs or DataDirs.from_env()).ensure()
    df = load([periode], dirs)
    out = dirs.store / "exports" / f"dataset_{periode}.csv"
    write_atomic(out, to_csv(df))
    return {"periode": periode, "rijen": len(df), "bronnen": sorted(df["bron"].unique().tolist()), "pad": str(out)}
