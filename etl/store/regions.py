"""Region totals over the organisations of a source (issue 15).

A source that several organisations deliver (``include/organisaties.yaml``: WIJ Groningen
and the local teams of the other municipalities; 26 Veilig Thuis organisations at national
size) has no region rows in any single file: each file covers only its own municipalities.
The region figure is assembled here, on every read of the combined dataset, from the
current deliveries of all of them, so it can never disagree with the parts it adds up
(a correction of one organisation changes the total the moment it is current).

Honest about what is missing, in two rows rather than one number that looks complete:

* ``regio/regio``: the region total, only when every organisation of the source has a
  current delivery for the quarter; otherwise ``missing`` (no value), because a sum over
  three of ten municipalities is not the region's figure and would read as a fall in a
  trend chart.
* ``regio/geleverd``: when some are missing, the sum over the organisations that did
  deliver, with a ``toelichting`` naming who is in it and who is not. The workbook shows
  it labelled as such; disclosure control treats it as one more total (etl.report.protect).

Which indicators add up: the counts (``soort: aantal`` in ``include/indicators.yaml``) at
municipality level. Shares whose teller and noemer are such counts are recomputed from the
totals; medians and other measures get no region row (a median does not add up).
"""

from __future__ import annotations

import pandas as pd

from etl.core.catalogue import load_catalogue
from etl.core.organisations import Organisation, has_several, organisations

REGIO = "regio"
#: ``gebied_code`` of the sum over the organisations that delivered (when not all did).
GELEVERD = "geleverd"
EXTRA_COLUMNS = ("organisatie", "toelichting")


def _names(orgs: list[Organisation]) -> str:
    return ", ".join(o.naam for o in orgs)


def coverage_note(delivered: list[Organisation], missing: list[Organisation], total: int) -> str:
    """The Dutch sentence beside a region figure of a source with several organisations."""
    if not missing:
        return f"som van alle {total} organisaties"
    return (f"som van {len(delivered)} van de {total} organisaties ({_names(delivered)}); "
            f"nog geen levering van {_names(missing)}")


def region_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The region rows to add to ``df`` (the dataset of current deliveries, with ``organisatie``)."""
    catalogue = load_catalogue()
    out: list[dict] = []
    columns = [*df.columns, *(["toelichting"] if "toelichting" not in df.columns else [])]
    if df.empty:
        return pd.DataFrame(columns=columns)
    for (periode, bron), q in df.groupby(["periode", "bron"], sort=True):
        if not has_several(bron):
            continue
        orgs = list(organisations(bron))
        present = set(q["organisatie"])
        delivered = [o for o in orgs if o.code in present]
        missing = [o for o in orgs if o.code not in present]
        note = coverage_note(delivered, missing, len(orgs))
        gem = q[q["gebied_type"] == "gemeente"]
        totals: dict[str, tuple[float | None, str]] = {}
        for ind, rows in gem.groupby("indicator", sort=True):
            spec = catalogue.indicators.get((bron, ind))
            if spec is None or not spec.is_count:
                continue
            statuses = set(rows["status"])
            if "suppressed_by_partner" in statuses:
                totals[ind] = (None, "suppressed_by_partner")
            elif "missing" in statuses or rows["waarde"].isna().any():
                totals[ind] = (None, "missing")
            else:
                totals[ind] = (float(rows["waarde"].sum()), "ok")
        for spec in catalogue.indicators.values():
            if spec.bron != bron or spec.is_count or not (spec.teller and spec.noemer):
                continue
            if spec.teller not in totals or spec.noemer not in totals:
                continue
            (num, s1), (den, s2) = totals[spec.teller], totals[spec.noemer]
            if num is None or den is None:
                totals[spec.key] = (None, s1 if num is None else s2)
            else:
                totals[spec.key] = (num / den, "ok") if den else (None, "missing")
        code = REGIO if not missing else GELEVERD
        # The contract's levering_id says where a value came from: for a total, every delivery in it.
        sources_of = ";".join(sorted(set(q["levering_id"])))
        for ind, (value, status) in totals.items():
            base = {"periode": periode, "bron": bron, "gebied_type": REGIO, "indicator": ind,
                    "levering_id": sources_of, "organisatie": "", "toelichting": note}
            out.append({**base, "gebied_code": code, "waarde": value, "status": status})
            if missing:     # the region itself is not known while an organisation is missing
                out.append({**base, "gebied_code": REGIO, "waarde": None, "status": "missing"})
    return pd.DataFrame(out, columns=columns)


def with_region_totals(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus the region rows of every source with several organisations, and a
    ``toelichting`` column ("" on the rows that came from a file as they are)."""
    df = df.copy()
    if "organisatie" not in df.columns:
        df["organisatie"] = ""
    df["toelichting"] = ""
    rows = region_rows(df)
    if rows.empty:
        return df
    # A file of a several-organisation source never carries region rows of its own
    # (etl.intake.tidy), so nothing is replaced here; the guard keeps it that way.
    key = ["periode", "bron", "gebied_type", "gebied_code", "indicator"]
    clash = rows.merge(df[key], on=key, how="inner")
    if not clash.empty:
        raise ValueError(f"region rows already present for {clash[key].drop_duplicates().to_dict('records')[:3]}")
    combined = pd.concat([df, rows.astype({"waarde": "float64"})], ignore_index=True)
    # The key order (as the warehouse and the CLI print it): unique, since organisations of
    # one source never share an area (etl.core.organisations).
    return combined.sort_values(key, kind="stable").reset_index(drop=True)
