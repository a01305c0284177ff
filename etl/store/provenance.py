"""Provenance queries: from a figure back to its delivery, sheet, cells and rows.

The records are written by ``Store.record`` (table ``value_provenance``, one row per
dataset value, kept for superseded deliveries too); this module only reads them. The
text a person reads is made in ``etl.tools.herkomst`` and ``etl.report.sheets.data``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from etl.store.db import Store

Key = tuple[str, str, str, str]     # (bron, gebied_type, gebied_code, indicator)
MAX_DEPTH = 4                        # share of a region total of cells: three levels suffice


def _record(row: Any) -> dict[str, Any]:
    rec = {k: row[k] for k in ("soort", "tabblad", "cel", "regel", "rijen") if row[k] is not None}
    rec.update(json.loads(row["details"] or "{}"))
    return rec


def record_of(store: Store, levering_id: str, periode: str, gebied_type: str, gebied_code: str,
              indicator: str) -> dict[str, Any] | None:
    """The stored record of one value of one delivery (current or superseded), or None."""
    row = store.row(
        """SELECT * FROM value_provenance WHERE levering_id = :lid AND periode = :periode AND gebied_type = :gt
           AND gebied_code = :gc AND indicator = :ind""",
        lid=levering_id, periode=periode, gt=gebied_type, gc=gebied_code, ind=indicator)
    return _record(row) if row else None


def find_values(store: Store, periode: str, indicator: str, gebied_type: str, gebied_code: str,
                bron: str | None = None) -> list[dict[str, Any]]:
    """The current dataset value(s) for a figure, with their delivery (one per source)."""
    sql = """SELECT v.*, d.bestandsnaam, d.ontvangen_op, d.sha256
             FROM dataset_values v
             JOIN delivery_quarters q ON q.levering_id = v.levering_id AND q.periode = v.periode AND q.actueel = 1
             JOIN deliveries d ON d.levering_id = v.levering_id
             WHERE v.periode = :periode AND v.indicator = :ind AND v.gebied_type = :gt AND v.gebied_code = :gc"""
    params = {"periode": periode, "ind": indicator, "gt": gebied_type, "gc": gebied_code}
    if bron:
        sql += " AND v.bron = :bron"
        params["bron"] = bron
    return [dict(r) for r in store.rows(sql + " ORDER BY v.bron, v.levering_id", **params)]


def replaced(store: Store, levering_id: str, periode: str) -> list[dict[str, Any]]:
    """The earlier deliveries for this quarter that this one replaced (newest first)."""
    out: list[dict[str, Any]] = []
    current = levering_id
    for _ in range(100):                         # a chain of corrections; bounded, never a cycle
        row = store.row(
            """SELECT q.levering_id, d.bestandsnaam, d.ontvangen_op FROM delivery_quarters q
               JOIN deliveries d ON d.levering_id = q.levering_id WHERE q.vervangen_door = :lid AND q.periode = :periode""",
            lid=current, periode=periode)
        if row is None:
            break
        out.append(dict(row))
        current = row["levering_id"]
    return out


def chain(store: Store, value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """A value with its record and, for a sum or a ratio, the chains of the values it uses.

    ``value`` is a row of :func:`find_values` (or of the same shape). Parts come from the
    same delivery and quarter: a region total adds up values of its own file.
    """
    lid, periode = value["levering_id"], value["periode"]
    rec = record_of(store, lid, periode, value["gebied_type"], value["gebied_code"], value["indicator"])
    node: dict[str, Any] = {
        "periode": periode, "bron": value["bron"], "gebied_type": value["gebied_type"],
        "gebied_code": value["gebied_code"], "indicator": value["indicator"], "waarde": value["waarde"],
        "status": value["status"], "levering_id": lid, "herkomst": rec,
    }
    if rec is None or depth >= MAX_DEPTH:
        return node
    keys: list[tuple[str, list[str]]] = []
    if rec.get("soort") == "som":
        keys = [("deel", k) for k in rec.get("delen", [])]
    elif rec.get("soort") == "verhouding":
        keys = [("teller", rec["teller"]), ("noemer", rec["noemer"])]
    parts = []
    for role, (gt, gc, ind) in keys:
        row = store.row(
            """SELECT * FROM dataset_values WHERE levering_id = :lid AND periode = :periode AND gebied_type = :gt
               AND gebied_code = :gc AND indicator = :ind""", lid=lid, periode=periode, gt=gt, gc=gc, ind=ind)
        if row is not None:
            parts.append({"rol": role, **chain(store, dict(row), depth + 1)})
    if parts:
        node["onderdelen"] = parts
    return node


def quarter_records(store: Store, periode: str) -> dict[Key, tuple[str, dict[str, Any]]]:
    """Per value of the quarter's current deliveries: (file name, record). For the Data sheet."""
    rows = store.rows(
        """SELECT v.bron, p.*, d.bestandsnaam FROM value_provenance p
           JOIN dataset_values v USING (levering_id, periode, gebied_type, gebied_code, indicator)
           JOIN delivery_quarters q ON q.levering_id = p.levering_id AND q.periode = p.periode AND q.actueel = 1
           JOIN deliveries d ON d.levering_id = p.levering_id
           WHERE p.periode = :periode""", periode=periode)
    return {(r["bron"], r["gebied_type"], r["gebied_code"], r["indicator"]): (r["bestandsnaam"], _record(r))
            for r in rows}


def read_summary(store: Store, levering_id: str) -> list[dict[str, Any]]:
    """What was read from where, per sheet, for the receipt: cells per column, rows per rule.

    Only addresses and counts of values; never a value (the receipt goes back to the partner,
    but the same rule as everywhere: a provenance record shows no cell content).
    """
    sheets: dict[str, dict[str, Any]] = {}
    cells: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows: dict[str, set[int]] = defaultdict(set)
    for r in store.rows(
            """SELECT soort, tabblad, cel, rijen, details FROM value_provenance
               WHERE levering_id = :lid AND tabblad IS NOT NULL ORDER BY periode, tabblad, gebied_type, gebied_code,
               indicator""", lid=levering_id):
        s = sheets.setdefault(r["tabblad"], {"tabblad": r["tabblad"], "waarden": 0})
        s["waarden"] += 1
        if r["soort"] == "cel" and r["cel"]:
            kolom = json.loads(r["details"] or "{}").get("kolom", "?")
            cells[r["tabblad"]][kolom].append(r["cel"])
        elif r["soort"] == "regels" and r["rijen"]:
            from_text = r["rijen"]
            for part in from_text.split(","):
                a, _, b = part.partition("-")
                rows[r["tabblad"]].update(range(int(a), int(b or a) + 1))
    out = []
    for name, s in sheets.items():
        if name in cells:
            s["cellen"] = {k: _span(v) for k, v in sorted(cells[name].items())}
        if name in rows:
            s["regels"] = _ranges(rows[name])
        out.append(s)
    return out


def _span(addresses: list[str]) -> str:
    """``D5, D6, D7, D9`` -> ``D5:D7, D9`` (one column's cells)."""
    by_letter: dict[str, list[int]] = defaultdict(list)
    for a in addresses:
        letter = a.rstrip("0123456789")
        by_letter[letter].append(int(a[len(letter):]))
    parts = []
    for letter, nums in by_letter.items():
        for lo, hi in _runs(nums):
            parts.append(f"{letter}{lo}" if lo == hi else f"{letter}{lo}:{letter}{hi}")
    return ", ".join(parts)


def _runs(nums: set[int] | list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(set(nums)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _ranges(nums: set[int]) -> str:
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in _runs(nums))


def delivery_records(store: Store, levering_id: str) -> list[dict[str, Any]]:
    """Every value of one delivery (current or superseded) with its record, for audits and tests."""
    rows = store.rows(
        """SELECT v.*, p.soort, p.tabblad, p.cel, p.regel, p.rijen, p.details
           FROM dataset_values v LEFT JOIN value_provenance p
             USING (levering_id, periode, gebied_type, gebied_code, indicator)
           WHERE v.levering_id = :lid ORDER BY v.periode, v.gebied_type, v.gebied_code, v.indicator""", lid=levering_id)
    out = []
    for r in rows:
        value = {k: r[k] for k in ("levering_id", "periode", "bron", "gebied_type", "gebied_code", "indicator",
                                   "waarde", "status")}
        value["herkomst"] = _record(r) if r["soort"] is not None else None
        out.append(value)
    return out


def deliveries_with_values(store: Store) -> list[dict[str, Any]]:
    """Accepted deliveries that hold dataset values: id, source, file name, where it is archived."""
    return [dict(r) for r in store.rows(
        """SELECT levering_id, bron, bestandsnaam, opgeslagen_als, ontvangen_op FROM deliveries d
           WHERE status = 'geaccepteerd' AND EXISTS (SELECT 1 FROM dataset_values v WHERE v.levering_id = d.levering_id)
           ORDER BY ontvangen_op, levering_id""")]
