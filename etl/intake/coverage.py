"""A file may only change the figures of its own organisation's area.

Why after tidy, on the dataset rows: every way a municipality or wijk gets into the
dataset (a gemeente column, a wijk column, a name or a CBS code, an old municipality
that merged) has been normalised by then, so one check over the rows catches them all.
The refusal names the areas and the rows' sheet, never a cell value beyond the area name.
"""

from __future__ import annotations

import pandas as pd

from etl.core.organisations import Organisation
from etl.core.problems import Problem, error
from etl.core.reference import gemeente_names


def coverage_problems(values: pd.DataFrame, org: Organisation) -> list[Problem]:
    if values is None or values.empty:
        return []
    foreign: dict[str, set[str]] = {"gemeente": set(), "wijk": set()}
    for gtype in foreign:
        rows = values[values["gebied_type"] == gtype]
        allowed = set(org.gemeenten if gtype == "gemeente" else org.wijken)
        foreign[gtype] = set(rows.loc[~rows["gebied_code"].isin(allowed), "gebied_code"])
    if not any(foreign.values()):
        return []
    names = gemeente_names()
    parts = []
    if foreign["gemeente"]:
        parts.append("gemeente " + ", ".join(sorted(names.get(c, c) for c in foreign["gemeente"])))
    if foreign["wijk"]:
        parts.append("wijk " + ", ".join(sorted(foreign["wijk"])))
    own = ", ".join(sorted(names.get(c, c) for c in org.gemeenten))
    return [error(
        "andere_organisatie",
        f"Dit bestand bevat cijfers voor {' en '.join(parts)}. {org.naam} levert alleen voor {own}; "
        "het bestand is daarom niet verwerkt (cijfers van een andere organisatie worden nooit overschreven).",
        f"Haal de regels voor andere gemeenten of wijken uit het bestand en lever opnieuw aan in de map van "
        f"{org.naam}. Hoort het bestand bij een andere organisatie, zet het dan in de map van die organisatie.",
        extra={"organisatie": org.code, "gemeenten": sorted(foreign["gemeente"]), "wijken": sorted(foreign["wijk"])})]
