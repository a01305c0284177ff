"""The inbox: every file that enters ends in exactly one known place, with a receipt.

    inbox/<bron>/x.xlsx --claim--> processing/<bron>/<ts>__x.xlsx --analyse, record-->
        archive/<bron>/ (accepted, duplicates) | quarantine/<bron>/ (rejected)
        | quarantine-restricted/<bron>/ (personal data)      + outbox/<bron>/ receipts

Crash safety comes from ordering, not luck: a claim is an atomic rename; the store
records the outcome in one transaction before the file moves; the receipt is written
(idempotently, from the stored record) before the file leaves processing/; the record
is marked settled last. Whatever the point of a kill, the next run finds the file in
processing/ or its final place and finishes the job, and the content hash stops a
delivery from being counted twice. A lock file serialises runs, because Airflow can
start duplicate runs (field notes: #54491).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from etl.config import SOURCES, DataDirs, Limits, stable_seconds
from etl.intake import Analysis, analyse
from etl.problems import Problem, error
from etl.receipt import Receipt, write_receipt
from etl.sources import get_source
from etl.store import Delivery, Store

log = logging.getLogger(__name__)

_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", "~")


@dataclass(frozen=True)
class Outcome:
    bron: str
    bestand: str
    status: str                # geaccepteerd | afgekeurd | dubbel
    levering_id: str
    location: Path
    receipt: Path
    problem_codes: tuple[str, ...] = ()


def is_ignored(name: str) -> bool:
    """Excel lock files, hidden and temporary files are never picked up (and never rejected)."""
    low = name.lower()
    return (name.startswith(("~$", ".")) or low in _IGNORED_NAMES or low.endswith(_TEMP_SUFFIXES))


def safe_name(name: str) -> str:
    """A file name that is safe to reuse on disk: no separators, control characters or dots in front."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]", "_", name).strip(" .")
    return (cleaned or "bestand")[:150]


def printable_name(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def inbox_lock(dirs: DataDirs, bron: str) -> Iterator[None]:
    """One run per source at a time, across processes and Celery workers sharing the disk."""
    dirs.root.mkdir(parents=True, exist_ok=True)
    with open(dirs.lock_path.with_name(f".inbox.{bron}.lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def stable_files(dirs: DataDirs, bron: str, now: float | None = None) -> list[Path]:
    """Files in inbox/<bron>/ that are complete: unchanged for ``stable_seconds``.

    A copy in progress keeps touching the file, so its mtime is recent; symlinks are
    returned too (they are refused, never followed).
    """
    folder = dirs.inbox / bron
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    wait = stable_seconds()
    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if is_ignored(entry.name):
            continue
        if entry.is_symlink():
            out.append(Path(entry.path))
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        if now - st.st_mtime >= wait:
            out.append(Path(entry.path))
    return out


def claim(dirs: DataDirs, path: Path, bron: str, received: dt.datetime) -> Path:
    target = dirs.processing / bron / f"{received:%Y%m%dT%H%M%S%fZ}__{safe_name(path.name)}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, target)      # atomic on one filesystem; a symlink moves as a link
    return target


def _received_from_claim(path: Path) -> tuple[dt.datetime, str]:
    stamp, _, name = path.name.partition("__")
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC), name


def _levering_id(bron: str, received: dt.datetime, sha: str) -> str:
    return f"{bron}-{received:%Y%m%d-%H%M%S}-{sha[:8]}"


def _final_place(dirs: DataDirs, d: Delivery, claimed_name: str) -> Path:
    name = f"{d.levering_id}__{safe_name(claimed_name)}"
    if d.persoonsgegevens:
        return dirs.restricted / d.bron / name
    if d.status == "geaccepteerd":
        return dirs.archive / d.bron / name
    return dirs.quarantine / d.bron / name


def _receipt_stem(received_iso: str, name: str) -> str:
    t = dt.datetime.fromisoformat(received_iso)
    return f"{t:%Y%m%d-%H%M%S}_{safe_name(name)}"


def _receipt_for(d: Delivery, bron_naam: str, counts: dict[str, int], superseded: list[dict]) -> Receipt:
    return Receipt(status=d.status, bron=d.bron, bron_naam=bron_naam, bestand=d.bestandsnaam,
                   ontvangen_op=d.ontvangen_op, levering_id=d.levering_id, sha256=d.sha256, periodes=d.periodes,
                   aantallen=counts, problemen=[Problem.from_dict(p) for p in d.problemen], vervangt=superseded,
                   persoonsgegevens=d.persoonsgegevens, validatie=d.validatie)


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.rename(src, dst)


def settle(dirs: DataDirs, store: Store, d: Delivery, claimed: Path | None, claimed_name: str) -> Outcome:
    """Receipt first, then the move, then mark settled: each step safe to repeat."""
    final = _final_place(dirs, d, claimed_name)
    superseded = [{"periode": r["periode"], "levering_id": r["levering_id"]}
                  for r in store.conn.execute("SELECT periode, levering_id FROM delivery_quarters WHERE vervangen_door = ?",
                                              (d.levering_id,))]
    receipt = _receipt_for(d, get_source(d.bron).naam, d.validatie.get("aantallen", {}), superseded)
    hook_markup(dirs, d, claimed if claimed is not None and claimed.exists() else final, receipt)
    txt, _ = write_receipt(receipt, dirs.outbox / d.bron, _receipt_stem(d.ontvangen_op, d.bestandsnaam))
    if claimed is not None and (claimed.exists() or claimed.is_symlink()):
        _move(claimed, final)
    store.mark_settled(d.levering_id, str(final.relative_to(dirs.root)))
    log.info("levering %s (%s, %s): %s -> %s", d.levering_id, d.bron, printable_name(d.bestandsnaam), d.status, final)
    return Outcome(d.bron, d.bestandsnaam, d.status, d.levering_id, final, txt,
                   tuple(sorted({p["code"] for p in d.problemen if p["severity"] == "fout"})))


def hook_markup(dirs: DataDirs, d: Delivery, workbook: Path, receipt: Receipt) -> None:
    """Extension point for the marked-up partner copy (see etl.markup); no-op when absent."""
    try:
        from etl import markup
    except ImportError:
        return
    markup.write_for_delivery(dirs, d, workbook, receipt)


def _duplicate(dirs: DataDirs, store: Store, bron: str, claimed: Path, name: str, received: dt.datetime,
               sha: str, first: Delivery) -> Outcome:
    received_iso = received.replace(microsecond=0).isoformat()
    lid = _levering_id(bron, received, sha)
    final = dirs.archive / bron / "dubbel" / f"{lid}__{safe_name(name)}"
    r = Receipt(status="dubbel", bron=bron, bron_naam=get_source(bron).naam, bestand=name, ontvangen_op=received_iso,
                levering_id=lid, sha256=sha, periodes=first.periodes, eerder_ontvangen_als=first.levering_id)
    txt, _ = write_receipt(r, dirs.outbox / bron, _receipt_stem(received_iso, name))
    store.log_event("dubbel", bron=bron, levering_id=lid, sha256=sha, bestandsnaam=name, eerder=first.levering_id)
    _move(claimed, final)
    return Outcome(bron, name, "dubbel", lid, final, txt)


def process_claimed(dirs: DataDirs, store: Store, bron: str, claimed: Path, limits: Limits | None = None) -> Outcome:
    received, name = _received_from_claim(claimed)
    original = name
    if claimed.is_symlink():
        sha = hashlib.sha256(os.readlink(claimed).encode()).hexdigest()
    else:
        sha = sha256_of(claimed)
    unfinished = store.unfinished_with_hash(bron, sha)
    if unfinished is not None:
        log.warning("hervat onderbroken verwerking van %s", unfinished.levering_id)
        return settle(dirs, store, unfinished, claimed, original)
    first = store.accepted_with_hash(bron, sha)
    if first is not None:
        return _duplicate(dirs, store, bron, claimed, original, received, sha, first)
    source = get_source(bron)
    if claimed.is_symlink():
        problems = [error("snelkoppeling", "Het bestand is een snelkoppeling (symbolische link), geen echt bestand.",
                          "Zet het bestand zelf in de map, niet een snelkoppeling ernaar.")]
        analysis = Analysis(accepted=False, problems=problems)
    else:
        analysis = analyse(claimed, source, limits)
    status = "geaccepteerd" if analysis.accepted else "afgekeurd"
    d = Delivery(levering_id=_levering_id(bron, received, sha), bron=bron, bestandsnaam=original, sha256=sha,
                 ontvangen_op=received.replace(microsecond=0).isoformat(), status=status,
                 persoonsgegevens=analysis.personal_data, periodes=analysis.periodes,
                 problemen=[p.to_dict() for p in analysis.problems],
                 validatie={**analysis.validation.to_dict(), "aantallen": analysis.counts},
                 opgeslagen_als=None, afgerond=False)
    store.record(d, analysis.values if analysis.accepted else None)
    return settle(dirs, store, d, claimed, original)


def resume_unsettled(dirs: DataDirs, store: Store, bron: str) -> list[Outcome]:
    """Finish what a killed run left: claimed files, and recorded deliveries not yet settled."""
    outcomes = []
    folder = dirs.processing / bron
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if "__" in p.name and not p.name.startswith("."):
                outcomes.append(process_claimed(dirs, store, bron, p))
    for row in store.conn.execute("SELECT levering_id FROM deliveries WHERE afgerond = 0 AND bron = ?", (bron,)).fetchall():
        d = store.delivery(row["levering_id"])
        assert d is not None
        final = _final_place(dirs, d, f"{d.bestandsnaam}")
        if final.exists() or final.is_symlink():
            outcomes.append(settle(dirs, store, d, None, d.bestandsnaam))
    return outcomes


def process_inbox(dirs: DataDirs | None = None, sources: tuple[str, ...] = SOURCES,
                  limits: Limits | None = None) -> list[Outcome]:
    """One pass over the inbox: resume, then claim and process every stable file."""
    dirs = (dirs or DataDirs.from_env()).ensure()
    outcomes: list[Outcome] = []
    with Store(dirs.db_path) as store:
        for bron in sources:
            with inbox_lock(dirs, bron):
                outcomes.extend(resume_unsettled(dirs, store, bron))
                for path in stable_files(dirs, bron):
                    received = dt.datetime.now(dt.UTC)
                    claimed = claim(dirs, path, bron, received)
                    outcomes.append(process_claimed(dirs, store, bron, claimed, limits))
    return outcomes
