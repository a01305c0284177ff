"""Reference data from ``include/``: municipalities, WIJ areas, population.

Kept as CSV so that policy staff can check it; this module is the only reader.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from etl.core.sources import INCLUDE_DIR, fold


@dataclass(frozen=True)
class Gemeente:
    code: str
    naam: str


@dataclass(frozen=True)
class Wijk:
    naam: str
    noordelijk: bool
    gemeente: str = "GM0014"


def _rows(name: str) -> list[dict[str, str]]:
    with open(INCLUDE_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def gemeenten() -> tuple[Gemeente, ...]:
    """The region's current municipalities, in the order of the reference file."""
    return tuple(Gemeente(r["code"], r["naam"]) for r in _rows("gemeenten.csv") if r["actueel"] == "ja")


@cache
def gemeente_names() -> dict[str, str]:
    return {g.code: g.naam for g in gemeenten()}


@cache
def gemeente_lookup() -> dict[str, str]:
    """Folded name or code (current or pre-merger) -> current CBS code."""
    lookup: dict[str, str] = {}
    for r in _rows("gemeenten.csv"):
        target = r["code"] if r["actueel"] == "ja" else r["opgegaan_in"]
        lookup[fold(r["naam"])] = target
        lookup[fold(r["code"])] = target
        lookup[fold("gemeente " + r["naam"])] = target
        lookup[str(int(r["code"][2:]))] = target
    return lookup


@cache
def wijken() -> tuple[Wijk, ...]:
    return tuple(Wijk(r["wijk"], r["noordelijk"] == "ja", r.get("gemeente") or "GM0014") for r in _rows("wijken.csv"))


def wijken_of(gemeente: str) -> tuple[Wijk, ...]:
    """The team areas of one municipality (WIJ Groningen's for GM0014, a local team's elsewhere)."""
    return tuple(w for w in wijken() if w.gemeente == gemeente)


@cache
def wijk_names() -> frozenset[str]:
    return frozenset(w.naam for w in wijken())


@cache
def wijk_lookup() -> dict[str, str]:
    """Folded spelling (official, variant, with or without a ``WIJ`` prefix) -> official name."""
    lookup: dict[str, str] = {}
    for r in _rows("wijken.csv"):
        names = [r["wijk"], *[v for v in r["varianten"].split(";") if v]]
        for n in names:
            lookup[fold(n)] = r["wijk"]
            lookup[fold("WIJ " + n)] = r["wijk"]
            lookup[fold("WIJ-team " + n)] = r["wijk"]
    return lookup


@cache
def population() -> dict[tuple[str, int], int]:
    return {(r["code"], int(r["jaar"])): int(r["inwoners"]) for r in _rows("bevolking.csv")}


def inhabitants(code: str, year: int) -> int | None:
    """Population on 1 January of ``year``; falls back to the latest earlier year."""
    pop = population()
    years = sorted(y for (c, y) in pop if c == code and y <= year)
    if not years:
        years = sorted(y for (c, y) in pop if c == code)
    return pop[(code, years[-1])] if years else None
