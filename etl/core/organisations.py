"""Typed view of ``include/organisaties.yaml``: which organisation delivers what for where.

A delivery belongs to (source, organisation, quarter). Why the folder decides the
organisation, not a cell in the file: a partner cannot mistype a folder it was given,
a share per folder gives each organisation only its own files and receipts, and a file
that claims another organisation's municipalities is refused instead of attributed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import yaml

from etl.core import reference
from etl.core.reference import gemeenten, wijken
from etl.core.sources import load_sources

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Organisation:
    bron: str
    code: str
    naam: str
    gemeenten: tuple[str, ...]
    wijken: tuple[str, ...]
    #: True where the source has several organisations (then each has its own subfolder).
    shared_source: bool = False

    @property
    def folder(self) -> str:
        """The partner folder relative to inbox/, outbox/, archive/, ...: ``bron`` or ``bron/code``."""
        return f"{self.bron}/{self.code}" if self.shared_source else self.bron

    @property
    def home(self) -> str:
        """The municipality a local team's case rows add up to (one covering several: the city)."""
        return self.gemeenten[0] if len(self.gemeenten) == 1 else "GM0014"

    @property
    def covers_region(self) -> bool:
        return set(self.gemeenten) >= {g.code for g in gemeenten()}

    def covers(self, gebied_type: str, gebied_code: str) -> bool:
        """May this organisation's file carry a figure for this area? Region rows are the
        organisation's own total, so they are always its own."""
        if gebied_type == "gemeente":
            return gebied_code in self.gemeenten
        if gebied_type == "wijk":
            return gebied_code in self.wijken
        return True


def _read(path) -> dict:
    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("organisaties") or {}


@cache
def _all() -> dict[str, tuple[Organisation, ...]]:
    region = tuple(g.code for g in gemeenten())
    raw = _read(reference.INCLUDE_DIR / "organisaties.yaml")     # beside the reference data it names
    sources = load_sources()
    unknown = set(raw) - set(sources)
    if unknown:
        raise ValueError(f"organisaties.yaml names unknown sources: {sorted(unknown)}")
    out: dict[str, tuple[Organisation, ...]] = {}
    for bron, source in sources.items():
        entries = raw.get(bron) or [{"code": bron.replace("_", "-"), "naam": source.naam, "gemeenten": "alle"}]
        shared = len(entries) > 1
        orgs = []
        for e in entries:
            code = str(e["code"])
            if not _CODE.match(code):
                raise ValueError(f"organisation code {code!r} of {bron}: lower case letters, digits and '-' only")
            gm = region if e.get("gemeenten", "alle") == "alle" else tuple(e["gemeenten"])
            bad = set(gm) - set(region)
            if bad:
                raise ValueError(f"organisation {code} of {bron} names unknown municipalities {sorted(bad)}")
            wk = tuple(e["wijken"]) if e.get("wijken") else tuple(w.naam for w in wijken() if w.gemeente in gm)
            orgs.append(Organisation(bron, code, str(e["naam"]), gm, wk, shared))
        seen: dict[str, str] = {}
        for o in orgs:
            for g in o.gemeenten:
                if g in seen and len(orgs) > 1:
                    # Region totals add up the organisations' municipalities (etl.store.regions):
                    # a municipality of two organisations would be counted twice.
                    raise ValueError(f"municipality {g} of {bron} belongs to both {seen[g]} and {o.code}")
                seen[g] = o.code
        codes = [o.code for o in orgs]
        if len(set(codes)) != len(codes):
            raise ValueError(f"organisation codes of {bron} are not unique: {codes}")
        out[bron] = tuple(orgs)
    return out


def organisations(bron: str | None = None) -> tuple[Organisation, ...]:
    """The organisations of one source, or of all sources, in the order of the file."""
    if bron is None:
        return tuple(o for orgs in _all().values() for o in orgs)
    return _all()[bron]


def organisation(bron: str, code: str) -> Organisation:
    for o in organisations(bron):
        if o.code == code:
            return o
    raise KeyError(f"{bron}/{code}")


def original(bron: str) -> Organisation:
    """The organisation that delivered before organisations existed (the first listed):
    what a migrated store assigns to its older deliveries."""
    return organisations(bron)[0]


def by_folder(folder: str) -> Organisation | None:
    """The organisation whose partner folder this is (``wij/het-hogeland``), or None."""
    for o in organisations():
        if o.folder == folder:
            return o
    return None


def folder_of(bron: str, code: str) -> str:
    """The partner folder of a delivery: its organisation's, or the source's root for a file
    that belonged to no organisation (``code`` empty)."""
    return organisation(bron, code).folder if code else bron


def has_several(bron: str) -> bool:
    return len(organisations(bron)) > 1
