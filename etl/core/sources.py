"""Typed view of ``include/sources.yaml``: the one description of each partner source.

Reading, validation (the expectation suites), templates and docs all derive from this,
so adding a fourth partner means adding one block of YAML, not new code paths.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import yaml

#: The region's configuration as data. ``MONITOR_INCLUDE_DIR`` points a deployment (or a
#: test that adds a fictitious source) at another copy; nothing in ``etl`` names a source.
INCLUDE_DIR = Path(os.environ.get("MONITOR_INCLUDE_DIR") or Path(__file__).resolve().parents[2] / "include")

COLUMN_TYPES = {"periode", "gemeente", "wijk", "count", "number", "bool", "date", "enum", "id", "text"}
TIDY_KINDS = {"gemeente", "regio", "wij_casussen", "wij_groepsaanbod"}
RULE_KINDS = {"sum", "lte", "active_in_period", "capacity"}


def fold(text: object) -> str:
    """Fold a header or sheet name so that case, accents, spacing and punctuation don't matter.

    Partners type headers by hand: ``Aantal  meldingen``, ``aantal_meldingen`` and
    ``Aantal meldingen:`` must all match the same column.
    """
    return _fold_str(text if type(text) is str else str(text))


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=1 << 16)
def _fold_str(text: str) -> str:
    """Cached on the string only (never on the raw object: 1, 1.0 and True hash alike):
    the reader folds the same few headers, quarters and area names on every row."""
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = _NON_ALNUM.sub(" ", s.lower())
    return " ".join(s.split())


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] = ()

    @property
    def folded_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(n) for n in (self.name, *self.aliases)))

    @property
    def is_numeric(self) -> bool:
        return self.type in {"count", "number"}


@dataclass(frozen=True)
class Rule:
    kind: str
    params: dict = field(default_factory=dict, hash=False, compare=False)

    def __getitem__(self, key: str):
        return self.params[key]

    def get(self, key: str, default=None):
        return self.params.get(key, default)


@dataclass(frozen=True)
class Share:
    indicator: str
    numerator: str
    denominator: str


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[Column, ...]
    tidy: str
    key: tuple[str, ...]
    required: bool = True
    aliases: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    shares: tuple[Share, ...] = ()
    all_gemeenten: bool = False
    available_from: str | None = None
    absent_gemeente: str = "missing"     # a municipality without a row: "missing" (unknown) or "zero" (had none)
    shielding_allowed: bool = True       # may the partner type "<5" here (aggregate sheets) or not (case rows)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def folded_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(n) for n in (self.name, *self.aliases)))

    @property
    def count_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.type == "count")

    @property
    def value_columns(self) -> tuple[Column, ...]:
        """Columns that become dataset values (numbers), as opposed to keys."""
        return tuple(c for c in self.columns if c.is_numeric)


@dataclass(frozen=True)
class Source:
    key: str
    naam: str
    sheets: tuple[Sheet, ...]
    deadline_dagen: int = 21

    def sheet(self, name: str) -> Sheet:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)


def _column(d: dict) -> Column:
    col = Column(
        name=d["name"],
        type=d["type"],
        aliases=tuple(d.get("aliases", ())),
        required=d.get("required", True),
        nullable=d.get("nullable", False),
        allowed=tuple(d.get("allowed", ())),
    )
    if col.type not in COLUMN_TYPES:
        raise ValueError(f"column {col.name}: unknown type {col.type!r}")
    return col


def _sheet(d: dict) -> Sheet:
    sheet = Sheet(
        name=d["name"],
        columns=tuple(_column(c) for c in d["columns"]),
        tidy=d["tidy"],
        key=tuple(d["key"]),
        required=d.get("required", True),
        aliases=tuple(d.get("aliases", ())),
        rules=tuple(Rule(kind=r["kind"], params={k: v for k, v in r.items() if k != "kind"})
                    for r in d.get("rules", ())),
        shares=tuple(Share(**s) for s in d.get("shares", ())),
        all_gemeenten=d.get("all_gemeenten", False),
        available_from=d.get("available_from"),
        absent_gemeente=d.get("absent_gemeente", "missing"),
        shielding_allowed=d.get("shielding_allowed", True),
    )
    if sheet.absent_gemeente not in ("missing", "zero"):
        raise ValueError(f"sheet {sheet.name}: absent_gemeente must be 'missing' or 'zero'")
    names = [c.name for c in sheet.columns]
    if sheet.tidy not in TIDY_KINDS:
        raise ValueError(f"sheet {sheet.name}: unknown tidy kind {sheet.tidy!r}")
    for rule in sheet.rules:
        if rule.kind not in RULE_KINDS:
            raise ValueError(f"sheet {sheet.name}: unknown rule {rule.kind!r}")
    for k in sheet.key:
        if k not in names:
            raise ValueError(f"sheet {sheet.name}: key column {k} not described")
    folded: dict[str, str] = {}
    for c in sheet.columns:
        for f in c.folded_names:
            if folded.setdefault(f, c.name) != c.name:
                raise ValueError(f"sheet {sheet.name}: header {f!r} is ambiguous")
    return sheet


@cache
def load_sources(path: Path | None = None) -> dict[str, Source]:
    path = path or INCLUDE_DIR / "sources.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    return {
        key: Source(key=key, naam=d["naam"], sheets=tuple(_sheet(s) for s in d["sheets"]),
                    deadline_dagen=d.get("deadline_dagen", 21))
        for key, d in raw.items()
    }


def get_source(key: str) -> Source:
    sources = load_sources()
    if key not in sources:
        raise KeyError(f"unknown source {key!r}; known: {', '.join(sources)}")
    return sources[key]
