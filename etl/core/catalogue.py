"""The indicator catalogue (``include/indicators.yaml``): names, units, directions, methods.

Every label, unit and intended direction the workbook shows comes from this one file,
so the Definities sheet can list exactly what the other sheets use, and a policy
decision ("fewer hermeldingen is good") is configuration, not code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from etl.core.sources import INCLUDE_DIR

SOORTEN = ("aantal", "aandeel", "dagen", "getal", "per_1000")
RICHTINGEN = ("hoger_is_beter", "lager_is_beter", "neutraal")
BEREKENINGEN = ("waarde", "som", "per_1000_inwoners")
GEBIEDEN = ("regio", "GM0014", "noordelijk")


@dataclass(frozen=True)
class Indicator:
    bron: str
    key: str
    label: str
    soort: str
    definitie: str = ""
    formule: str = ""
    teller: str | None = None
    noemer: str | None = None
    basis: str | None = None
    hulp: bool = False          # an ingredient only, never shown on its own

    @property
    def is_count(self) -> bool:
        return self.soort == "aantal"


@dataclass(frozen=True)
class KeyIndicator:
    id: str
    actielijn: int
    bron: str
    indicator: str
    gebied: str
    richting: str
    waarom: str
    berekening: str = "waarde"
    delen: tuple[str, ...] = ()
    teller: str | None = None


@dataclass(frozen=True)
class Catalogue:
    indicators: dict[tuple[str, str], Indicator]
    key_indicators: tuple[KeyIndicator, ...]
    actielijnen: dict[int, str]
    richtingen: dict[str, str]
    gebieden: dict[str, str]
    afscherming: dict[str, str]
    methoden: tuple[tuple[str, str], ...]

    def get(self, bron: str, key: str) -> Indicator:
        try:
            return self.indicators[(bron, key)]
        except KeyError:
            raise KeyError(f"indicator {bron}/{key} is not described in include/indicators.yaml") from None

    def label(self, bron: str, key: str) -> str:
        return self.get(bron, key).label

    def soort(self, bron: str, key: str) -> str:
        return self.get(bron, key).soort

    def shown(self) -> list[Indicator]:
        """Every indicator a reader can meet in the workbook (ingredients left out)."""
        return [i for i in self.indicators.values() if not i.hulp]


def _indicator(bron: str, key: str, d: dict, hulp: bool = False) -> Indicator:
    ind = Indicator(bron=bron, key=key, label=d["label"], soort=d["soort"], definitie=d.get("definitie", ""),
                    formule=d.get("formule", ""), teller=d.get("teller"), noemer=d.get("noemer"),
                    basis=d.get("basis"), hulp=hulp)
    if ind.soort not in SOORTEN:
        raise ValueError(f"{bron}/{key}: unknown soort {ind.soort!r}")
    if ind.soort == "aandeel" and not (ind.teller and ind.noemer):
        raise ValueError(f"{bron}/{key}: an aandeel needs teller and noemer")
    return ind


@cache
def load_catalogue(path: Path | None = None) -> Catalogue:
    raw = yaml.safe_load((path or INCLUDE_DIR / "indicators.yaml").read_text(encoding="utf-8"))
    indicators: dict[tuple[str, str], Indicator] = {}
    for bron, block in raw["indicatoren"].items():
        for key, d in block.items():
            indicators[(bron, key)] = _indicator(bron, key, d)
    for bron, block in raw.get("hulpgrootheden", {}).items():
        for key, d in block.items():
            indicators[(bron, key)] = _indicator(bron, key, d, hulp=True)
    keys: list[KeyIndicator] = []
    for d in raw["kernindicatoren"]:
        k = KeyIndicator(id=d["id"], actielijn=int(d["actielijn"]), bron=d["bron"], indicator=d["indicator"],
                         gebied=str(d["gebied"]), richting=d["richting"], waarom=d.get("waarom", ""),
                         berekening=d.get("berekening", "waarde"), delen=tuple(d.get("delen", ())),
                         teller=d.get("teller"))
        if k.richting not in RICHTINGEN:
            raise ValueError(f"kernindicator {k.id}: richting must be one of {RICHTINGEN}, got {k.richting!r}")
        if k.berekening not in BEREKENINGEN:
            raise ValueError(f"kernindicator {k.id}: unknown berekening {k.berekening!r}")
        if k.gebied not in GEBIEDEN:
            raise ValueError(f"kernindicator {k.id}: unknown gebied {k.gebied!r}")
        if (k.bron, k.indicator) not in indicators:
            raise ValueError(f"kernindicator {k.id}: {k.bron}/{k.indicator} has no definition")
        if k.actielijn not in raw["actielijnen"]:
            raise ValueError(f"kernindicator {k.id}: unknown actielijn {k.actielijn}")
        keys.append(k)
    if len({k.id for k in keys}) != len(keys):
        raise ValueError("kernindicatoren: ids must be unique")
    return Catalogue(
        indicators=indicators,
        key_indicators=tuple(keys),
        actielijnen={int(k): v for k, v in raw["actielijnen"].items()},
        richtingen=dict(raw["richtingen"]),
        gebieden={str(k): v for k, v in raw["gebieden"].items()},
        afscherming=dict(raw["afscherming"]),
        methoden=tuple((m["naam"], m["uitleg"]) for m in raw["methoden"]),
    )
