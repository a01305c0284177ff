"""Region totals over the organisations of a source (etl.store.regions), on hand-made frames.

The WIJ source has ten organisations in include/organisaties.yaml, one municipality each,
so a frame with a few of them is a region with organisations missing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from etl.core.catalogue import load_catalogue
from etl.core.organisations import organisations
from etl.report.protect import protect_quarter
from etl.store.regions import region_rows, with_region_totals

Q = "2024Q4"


def _frame(per_org: dict[str, dict[str, float | None]], status: dict[tuple[str, str], str] | None = None) -> pd.DataFrame:
    rows = []
    for org_code, values in per_org.items():
        org = next(o for o in organisations("wij") if o.code == org_code)
        for ind, v in values.items():
            st = (status or {}).get((org_code, ind), "ok" if v is not None else "missing")
            rows.append({"periode": Q, "bron": "wij", "gebied_type": "gemeente", "gebied_code": org.home,
                         "indicator": ind, "waarde": v, "status": st, "levering_id": f"lid-{org_code}",
                         "organisatie": org_code})
    return pd.DataFrame(rows)


def _get(df, code, ind):
    hit = df[(df.gebied_type == "regio") & (df.gebied_code == code) & (df.indicator == ind)]
    assert len(hit) == 1, (code, ind, hit)
    return hit.iloc[0]


ALL = [o.code for o in organisations("wij")]


def test_all_organisations_delivered_gives_the_region_total_and_its_share():
    per = {c: {"casussen_actief": 10.0 + i, "nazorg_aantal": 2.0, "nazorg_bekend": 4.0, "duur_mediaan_dagen": 90.0}
           for i, c in enumerate(ALL)}
    out = with_region_totals(_frame(per))
    assert _get(out, "regio", "casussen_actief").waarde == sum(10 + i for i in range(len(ALL)))
    assert _get(out, "regio", "nazorg_aandeel").waarde == pytest.approx(0.5)
    assert _get(out, "regio", "casussen_actief").toelichting == f"som van alle {len(ALL)} organisaties"
    assert set(_get(out, "regio", "casussen_actief").levering_id.split(";")) == {f"lid-{c}" for c in ALL}
    assert out[(out.gebied_code == "geleverd")].empty
    assert out[(out.gebied_type == "regio") & (out.indicator == "duur_mediaan_dagen")].empty


def test_missing_organisations_make_the_region_unknown_and_name_who_is_missing():
    out = with_region_totals(_frame({"wij-groningen": {"casussen_actief": 100.0}, "het-hogeland": {"casussen_actief": 7.0}}))
    region = _get(out, "regio", "casussen_actief")
    assert region.status == "missing" and pd.isna(region.waarde)
    part = _get(out, "geleverd", "casussen_actief")
    assert part.waarde == 107 and part.status == "ok"
    assert "2 van de 10" in part.toelichting and "Lokaal team Westerwolde" in part.toelichting
    assert "WIJ Groningen" in part.toelichting.split(";")[0]


def test_a_part_suppressed_by_the_partner_or_unknown_makes_the_total_so():
    per = {c: {"kinderen_betrokken": 5.0, "casussen_actief": 9.0} for c in ALL}
    per["oldambt"]["kinderen_betrokken"] = None
    per["pekela"]["casussen_actief"] = None
    out = with_region_totals(_frame(per, {("oldambt", "kinderen_betrokken"): "suppressed_by_partner"}))
    assert _get(out, "regio", "kinderen_betrokken").status == "suppressed_by_partner"
    assert _get(out, "regio", "casussen_actief").status == "missing"


def test_sources_with_one_organisation_get_nothing_added():
    df = pd.DataFrame([{"periode": Q, "bron": "veilig_thuis", "gebied_type": "gemeente", "gebied_code": "GM0014",
                        "indicator": "meldingen_totaal", "waarde": 3.0, "status": "ok", "levering_id": "x",
                        "organisatie": "veilig-thuis-groningen"}])
    assert region_rows(df).empty
    assert len(with_region_totals(df)) == 1


def test_the_sum_of_delivered_teams_cannot_give_a_small_team_away():
    """Disclosure control knows ``geleverd = sum of the municipalities``: a team with 3 cases is
    <5, and then the city alone cannot be shown beside the sum (3 = sum - city)."""
    df = with_region_totals(_frame({"wij-groningen": {"casussen_actief": 120.0}, "pekela": {"casussen_actief": 3.0}}))
    view = protect_quarter(df, Q, load_catalogue())
    small = view.get("wij", "gemeente", "GM0765", "casussen_actief")
    assert small.hidden and small.shown == "<5"
    total = view.get("wij", "regio", "geleverd", "casussen_actief")
    city = view.get("wij", "gemeente", "GM0014", "casussen_actief")
    assert total.hidden or city.hidden, "sum and city both visible would reveal Pekela's 3"
