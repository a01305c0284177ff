"""Dataset rows from parsed sheets: region totals are honest, ratios guard against zero."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.core.reference import gemeenten
from etl.core.sources import get_source
from etl.intake.read import ReadResult, SheetData
from etl.intake.tidy import tidy_delivery


def _vt(rows: list[dict], suppressed: dict[str, list[int]] | None = None) -> ReadResult:
    spec = get_source("veilig_thuis").sheet("Meldingen")
    frame = pd.DataFrame(rows, index=pd.Index(range(4, 4 + len(rows)), name="excel_rij"))
    for c in spec.columns:
        if c.name not in frame:
            frame[c.name] = np.nan
    return ReadResult(sheets={"Meldingen": SheetData(spec, "Meldingen", 3, frame, suppressed or {}, {}, {})})


def _rows(n: int = 10, **override) -> list[dict]:
    return [{"periode": "2024Q3", "gemeente": g.code, "meldingen_totaal": 10.0, "hermeldingen": 2.0, **override}
            for g in gemeenten()[:n]]


def _get(df, gtype, code, ind):
    hit = df[(df.gebied_type == gtype) & (df.gebied_code == code) & (df.indicator == ind)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_region_total_sums_all_ten():
    df = tidy_delivery(get_source("veilig_thuis"), _vt(_rows()))
    total = _get(df, "regio", "regio", "meldingen_totaal")
    assert total.waarde == 100 and total.status == "ok"
    assert _get(df, "regio", "regio", "hermelding_aandeel").waarde == 0.2


def test_region_total_missing_when_a_municipality_is_missing():
    df = tidy_delivery(get_source("veilig_thuis"), _vt(_rows(9)))
    total = _get(df, "regio", "regio", "meldingen_totaal")
    assert pd.isna(total.waarde) and total.status == "missing"


def test_region_total_not_a_partial_sum_when_partner_suppressed():
    rows = _rows()
    rows[3]["hermeldingen"] = np.nan
    df = tidy_delivery(get_source("veilig_thuis"), _vt(rows, {"hermeldingen": [7]}))
    cell = _get(df, "gemeente", gemeenten()[3].code, "hermeldingen")
    assert cell.status == "suppressed_by_partner" and pd.isna(cell.waarde)
    total = _get(df, "regio", "regio", "hermeldingen")
    assert total.status == "suppressed_by_partner" and pd.isna(total.waarde)
    share = _get(df, "gemeente", gemeenten()[3].code, "hermelding_aandeel")
    assert share.status == "suppressed_by_partner"


def test_share_with_zero_denominator_is_missing_not_infinite():
    rows = _rows()
    rows[0].update(meldingen_totaal=0.0, hermeldingen=0.0)
    df = tidy_delivery(get_source("veilig_thuis"), _vt(rows))
    share = _get(df, "gemeente", gemeenten()[0].code, "hermelding_aandeel")
    assert share.status == "missing" and pd.isna(share.waarde)
