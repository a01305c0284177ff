"""Names of the files the pipeline writes: safe on disk, printable in a receipt, sortable.

Shared by the inbox (claims, archive names), receipts and the marked-up copy, so that a
receipt and its copy always sort next to each other.
"""

from __future__ import annotations

import datetime as dt
import re


def safe_name(name: str) -> str:
    """A file name that is safe to reuse on disk: no separators, control or format characters
    (a right-to-left override makes ``xlsx.exe`` read as ``exe.xlsx``), no dots in front."""
    cleaned = "".join("_" if not ch.isprintable() else ch for ch in name)
    cleaned = re.sub(r"[/\\:*?\"<>|]", "_", cleaned).strip(" .")
    return (cleaned or "bestand")[:150]


def printable_name(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def receipt_stem(levering_id: str, received_iso: str, name: str) -> str:
    """``20241005-083000_file.xlsx``: sorts by arrival and names the partner's file.

    A delivery id carries extra parts only when the same bytes arrived under the same
    name in the same second (see ``_claim_identity``); those parts keep the receipts apart.
    """
    t = dt.datetime.fromisoformat(received_iso)
    extra = levering_id.split("-")[4:]
    return f"{t:%Y%m%d-%H%M%S}_{safe_name(name)}" + "".join(f"_{e}" for e in extra)


_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".filepart", ".crdownload", ".download", "~")


def is_ignored(name: str) -> bool:
    """Excel lock files, hidden and temporary files are never picked up (and never rejected)."""
    low = name.lower()
    return (name.startswith(("~$", ".")) or low in _IGNORED_NAMES or low.endswith(_TEMP_SUFFIXES))
