"""``python -m etl herkomst``: from a figure back to the file, sheet, cells and rows.

The answer to "waar komt dat getal vandaan?" in one step: which delivery (file, date
received, which earlier delivery it replaced), which sheet and cell, or which rows and
rule turned case rows into the figure, and for a region total or a share the values it
is made of, each traced the same way. Dutch for a reader, JSON with ``--json``.

Disclosure control applies here as in the workbook (``etl.report.protect``): a figure
the report hides is named as hidden, without its value, its cell or its rows (the
number of rows of a derived count *is* the count). ``--intern`` shows everything, for
engineers on the pipeline's own machine, like ``python -m etl dataset`` does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from etl.core.catalogue import Catalogue, load_catalogue
from etl.core.config import DataDirs
from etl.core.reference import gemeente_lookup, gemeente_names, wijk_lookup
from etl.core.sources import fold
from etl.intake.receipt import local_time_nl
from etl.report.protect import QuarterView, protect_quarter
from etl.store.dataset import load
from etl.store.db import Store
from etl.store.provenance import chain, find_values, replaced

HIDDEN_NL = {"primair": "kleiner dan 5", "partner": "door de partner als <5 aangeleverd",
             "secundair": "afgeschermd zodat geen klein aantal terug te rekenen is",
             "afgeleid": "berekend uit een afgeschermd aantal"}


class NotFound(LookupError):
    """No such figure: the message is Dutch and says what to try."""


@dataclass(frozen=True)
class Area:
    gebied_type: str
    gebied_code: str


def resolve_area(text: str) -> Area:
    """``regio``, a municipality (CBS code or name) or a WIJ wijk, as a reader types it."""
    f = fold(text)
    if f in ("regio", "regio groningen"):
        return Area("regio", "regio")
    if f in wijk_lookup():
        return Area("wijk", wijk_lookup()[f])
    if f in gemeente_lookup():
        return Area("gemeente", gemeente_lookup()[f])
    raise NotFound(f"gebied {text!r} onbekend: gebruik 'regio', een gemeentecode (GM0014), een gemeentenaam of een wijk")


def trace(periode: str, indicator: str, gebied: str, bron: str | None = None, *, intern: bool = False,
          dirs: DataDirs | None = None) -> dict[str, Any]:
    """The chain for one figure as a JSON-able dict (redacted by disclosure control unless ``intern``)."""
    dirs = dirs or DataDirs.from_env()
    area = resolve_area(gebied)
    if not Store.exists(dirs):
        raise NotFound(f"geen store in {dirs.root}")
    with Store.open(dirs) as store:
        values = find_values(store, periode, indicator, area.gebied_type, area.gebied_code, bron)
        if not values:
            raise NotFound(f"geen waarde voor {indicator} in {gebied} ({periode})"
                           + (f" van bron {bron}" if bron else "") + "; controleer kwartaal, indicator en gebied")
        if len(values) > 1:
            raise NotFound(f"{indicator} komt van meer bronnen ({', '.join(v['bron'] for v in values)}): kies er een met --bron")
        value = values[0]
        node = chain(store, value)
        node["levering"] = {"bestandsnaam": value["bestandsnaam"], "ontvangen_op": value["ontvangen_op"],
                            "sha256": value["sha256"], "levering_id": value["levering_id"],
                            "vervangt": replaced(store, value["levering_id"], periode)}
    view = protect_quarter(load([periode], dirs), periode, load_catalogue())
    return node if intern else redact(node, view)


def redact(node: dict[str, Any], view: QuarterView) -> dict[str, Any]:
    """A copy in which every figure the report hides shows no value, cell or rows."""
    out = copy.deepcopy(node)
    _redact(out, view)
    return out


def _redact(node: dict[str, Any], view: QuarterView) -> None:
    cell = view.cells.get((node["bron"], node["gebied_type"], node["gebied_code"], node["indicator"]))
    if cell is not None and cell.hidden:
        node["waarde"] = None
        node["afgeschermd"] = cell.reason
        rec = node.get("herkomst") or {}
        node["herkomst"] = {k: rec[k] for k in ("soort", "tabblad") if k in rec} | {"afgeschermd": True}
        node.pop("onderdelen", None)
        return
    for part in node.get("onderdelen", []):
        _redact(part, view)


def _area_nl(gtype: str, code: str) -> str:
    if gtype == "regio":
        return "regio Groningen"
    if gtype == "gemeente":
        return f"{gemeente_names().get(code, code)} ({code})"
    return f"wijk {code}"


def _number(v: float | None) -> str:
    if v is None:
        return "geen waarde"
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:.4f}".rstrip("0").replace(".", ",")


def _label(cat: Catalogue, bron: str, indicator: str) -> str:
    try:
        return cat.label(bron, indicator)
    except KeyError:
        return indicator


def _status_nl(node: dict[str, Any]) -> str:
    if node.get("afgeschermd"):
        return f"afgeschermd in het rapport ({HIDDEN_NL.get(node['afgeschermd'], node['afgeschermd'])})"
    if node["status"] == "suppressed_by_partner":
        return "door de partner afgeschermd (<5)"
    if node["status"] == "missing":
        return "ontbreekt (niet aangeleverd of niet te berekenen)"
    return _number(node["waarde"])


def _where_nl(rec: dict[str, Any] | None) -> list[str]:
    if rec is None:
        return ["herkomst niet vastgelegd (opgeslagen vóór de herkomstregistratie)"]
    if rec.get("afgeschermd"):
        return [f"uit tabblad '{rec.get('tabblad', '?')}'; cel en regels niet getoond omdat het cijfer is afgeschermd"]
    soort = rec.get("soort")
    if soort == "cel":
        return [f"tabblad '{rec['tabblad']}', cel {rec['cel']}" if rec.get("cel") else
                f"tabblad '{rec['tabblad']}', regel ontbreekt in het bestand"]
    if soort == "regels":
        return [f"afgeleid uit tabblad '{rec['tabblad']}': {rec['aantal_rijen']} regels ({rec['regel']})",
                f"Excel-regels: {rec['rijen'] or 'geen'}"]
    if soort == "som":
        lines = [f"som van {len(rec['delen'])} waarden uit hetzelfde bestand"]
        if rec.get("ontbrekend"):
            lines.append("ontbrekend in het bestand: " + ", ".join(gemeente_names().get(c, c) for c in rec["ontbrekend"]))
        return lines
    if soort == "verhouding":
        return [f"verhouding: {rec.get('regel') or rec['teller'][2] + ' / ' + rec['noemer'][2]}"]
    if soort == "geen_regel":
        return [f"tabblad '{rec['tabblad']}': {rec['regel']}"]
    return ["herkomst onbekend"]


def render(node: dict[str, Any], cat: Catalogue | None = None) -> str:
    """The chain as Dutch text, one figure per block, parts indented under their total."""
    cat = cat or load_catalogue()
    lev = node["levering"]
    lines = [
        f"Herkomst van '{_label(cat, node['bron'], node['indicator'])}' ({node['indicator']}), "
        f"{_area_nl(node['gebied_type'], node['gebied_code'])}, {node['periode']}",
        f"Waarde: {_status_nl(node)}",
        f"Bestand: {lev['bestandsnaam']} (bron {node['bron']}), ontvangen {local_time_nl(lev['ontvangen_op'])}",
        f"Kenmerk: {lev['levering_id']}, controlegetal {lev['sha256'][:16]}",
    ]
    for old in lev.get("vervangt", []):
        lines.append(f"Vervangt: levering {old['levering_id']} ({old['bestandsnaam']}, ontvangen "
                     f"{local_time_nl(old['ontvangen_op'])})")
    lines += [f"Herkomst: {w}" for w in _where_nl(node.get("herkomst"))]
    lines += _parts_nl(node, cat, 1)
    return "\n".join(lines) + "\n"


def _parts_nl(node: dict[str, Any], cat: Catalogue, depth: int) -> list[str]:
    out: list[str] = []
    pad = "  " * depth
    for part in node.get("onderdelen", []):
        role = {"teller": "teller: ", "noemer": "noemer: "}.get(part["rol"], "")
        where = "; ".join(_where_nl(part.get("herkomst")))
        out.append(f"{pad}- {role}{_label(cat, part['bron'], part['indicator'])}, "
                   f"{_area_nl(part['gebied_type'], part['gebied_code'])}: {_status_nl(part)} — {where}")
        out += _parts_nl(part, cat, depth + 1)
    return out
