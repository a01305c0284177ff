"""Which per-source sheets the workbook has, in which order and layout: include/rapport.yaml.

A new source gets its sheet by one entry there (layout ``tabel``, generic); the named
layouts of the three founding sources add analysis that a table of counts cannot show.
Reading this here keeps ``etl.report.render`` free of source names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from etl.core.sources import INCLUDE_DIR, load_sources

GENERIC = "tabel"


@dataclass(frozen=True)
class Table:
    blad: str                      # sheet of the source
    gebied: str                    # gemeente | regio
    indicatoren: tuple[str, ...]   # dataset indicator keys
    kop: str


@dataclass(frozen=True)
class SourceSheet:
    bron: str
    titel: str
    opmaak: str
    kop: str = ""
    uitleg: str = ""
    partner: str = ""
    tabellen: tuple[Table, ...] = ()


def _tables(bron: str, raw: list[dict] | None) -> tuple[Table, ...]:
    source = load_sources()[bron]
    if not raw:   # default: one table per sheet of the source, every count column
        raw = [{"blad": s.name} for s in source.sheets if s.tidy in ("gemeente", "regio")]
    out = []
    for t in raw:
        sheet = source.sheet(t["blad"])
        gebied = t.get("gebied") or ("gemeente" if sheet.tidy == "gemeente" else "regio")
        if gebied not in ("gemeente", "regio"):
            raise ValueError(f"rapport.yaml: {bron}/{sheet.name}: gebied must be gemeente or regio, not {gebied!r}")
        inds = tuple(t.get("indicatoren") or [c.name for c in sheet.count_columns])
        out.append(Table(blad=sheet.name, gebied=gebied, indicatoren=inds,
                         kop=t.get("kop") or (sheet.name if gebied == "gemeente" else f"{sheet.name} (regio)")))
    return tuple(out)


@cache
def load_layout(path: Path | None = None) -> tuple[SourceSheet, ...]:
    raw = yaml.safe_load((path or INCLUDE_DIR / "rapport.yaml").read_text(encoding="utf-8"))["bladen"]
    sources = load_sources()
    sheets = []
    for d in raw:
        bron = d["bron"]
        if bron not in sources:
            raise ValueError(f"rapport.yaml: unknown bron {bron!r}; known: {', '.join(sources)}")
        opmaak = d.get("opmaak", GENERIC)
        sheets.append(SourceSheet(
            bron=bron, titel=d["titel"][:31], opmaak=opmaak, kop=d.get("kop", sources[bron].naam),
            uitleg=d.get("uitleg", ""), partner=d.get("partner", sources[bron].naam),
            tabellen=_tables(bron, d.get("tabellen")) if opmaak == GENERIC else ()))
    return tuple(sheets)
