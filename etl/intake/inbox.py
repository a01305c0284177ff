"""The inbox: every file that enters ends in exactly one known place, with a receipt.

    inbox/<map>/x.xlsx --claim--> processing/<map>/<ts>__x.xlsx --analyse, record-->
        archive/<map>/ (accepted, duplicates) | quarantine/<map>/ (rejected)
        | quarantine-restricted/<map>/ (personal data)      + outbox/<map>/ receipts

``<map>`` is the partner folder of one organisation (``etl.core.organisations``): ``<bron>``
for a source with one organisation, ``<bron>/<organisatie>`` for one with several. A file
put directly in ``inbox/<bron>/`` of a source with several organisations belongs to none
and is refused (``organisatie_onbekend``) without being read.

Crash safety comes from ordering, not luck: a claim is a row in the store (one open claim
per file, so two hosts cannot both take it) followed by an atomic rename; the store
records the outcome in one transaction before the file moves; the receipt is written
(idempotently, from the stored record) before the file leaves processing/; the record
is marked settled last. Whatever the point of a kill, the next run finds the file in
processing/ or its final place and finishes the job, and the content hash stops a
delivery from being counted twice. A lock file serialises runs, because Airflow can
start duplicate runs (field notes: #54491).

A crash of the parser is a rejection, not an outage: the analysis runs in a forked child
with a memory and a time limit (``etl.intake.sandbox``). A child that dies (abort, panic,
out of memory, SIGKILL) is retried once; when the processing of a claimed file has died
``MAX_ATTEMPTS`` times, or ran out of time, or the whole process died ``MAX_PROCESS_ATTEMPTS``
times while analysing it (counted in the store, so a kill of this process counts too), the file is refused with ``verwerkingsfout``, an ERROR is logged and an
audit event written for the data team, and the run goes on with the next file. A failure
in one file or one source never stops the next.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import time
import traceback
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from etl.core.config import SOURCES, DataDirs, Limits, analysis_parallel, stable_seconds
from etl.core.naming import is_ignored, printable_name, receipt_stem, safe_name
from etl.core.organisations import Organisation, has_several, organisation, organisations
from etl.core.problems import Problem, error
from etl.core.sources import get_source
from etl.core.status import DeliveryStatus
from etl.intake import markup
from etl.intake.analyse import Analysis, analyse
from etl.intake.receipt import Receipt, write_receipt
from etl.intake.sandbox import ChildDied, ChildRaised, Children, warm_up
from etl.store.db import Delivery, Store
from etl.store.provenance import read_summary

log = logging.getLogger(__name__)

PAUSE_ENV = "MONITOR_TEST_PAUSE_AT"
PAUSE_FILE_ENV = "MONITOR_TEST_PAUSE_FILE"
#: A claimed file whose analysis child died this often is refused instead of retried forever.
MAX_ATTEMPTS = 2
#: ... and one whose *whole process* died this often while analysing it. Higher, because a
#: killed worker or a restart is rarely the file's fault (the analysis runs in a child):
#: a good file must survive a few deploys; a file that takes the worker down still ends.
MAX_PROCESS_ATTEMPTS = 5


@dataclass(frozen=True)
class Outcome:
    bron: str
    bestand: str
    status: str                # geaccepteerd | afgekeurd | dubbel
    levering_id: str
    location: Path
    receipt: Path
    problem_codes: tuple[str, ...] = ()
    organisatie: str = ""


def no_organisation(bron: str) -> Organisation:
    """The owner of a file put directly in ``inbox/<bron>/`` of a source with several
    organisations: nobody. Its folder is the source's root; it covers no area."""
    return Organisation(bron, "", get_source(bron).naam, (), (), shared_source=False)


def organisation_of(bron: str, code: str) -> Organisation:
    return organisation(bron, code) if code else no_organisation(bron)


def partner_folders(bron: str) -> tuple[Organisation, ...]:
    """Every folder the inbox watches for one source: each organisation's, and for a source
    with several the source's root too (to refuse what lands there instead of ignoring it)."""
    orgs = organisations(bron)
    return (no_organisation(bron), *orgs) if has_several(bron) else orgs


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def inbox_lock(dirs: DataDirs, folder: str, store: Store | None = None, timeout: float = 900.0) -> Iterator[None]:
    """One run per partner folder at a time, across processes, Celery workers and hosts.

    With the PostgreSQL store (several hosts) a session advisory lock in the store
    (``Store.partner_lock``); a file lock would be silently host-local on ``nolock`` or
    ``local_lock`` mounts. With the embedded SQLite store (one host) an ``fcntl`` lock file
    in the data root. Both are released when the holder dies; both wait at most ``timeout``.
    """
    if store is not None and not store.sqlite:
        with store.partner_lock(folder, timeout):
            yield
        return
    dirs.root.mkdir(parents=True, exist_ok=True)
    with open(dirs.lock_path.with_name(f".inbox.{folder.replace('/', '.')}.lock"), "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"partner folder {folder} still locked by another run after {timeout:.0f} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def share_now(dirs: DataDirs) -> float:
    """The current time by the clock of the file system that holds the data folder.

    Why not ``time.time()``: on a shared folder (NFS, SMB) the file server stamps a file's
    mtime with *its* clock, and a worker host whose clock runs behind would take a file
    that is still being copied for an old one. Touching a probe file with no explicit time
    makes the server stamp it (NFS: SET_TO_SERVER_TIME), so its mtime is the server's
    "now", the same clock as the partner file's mtime. On local disk it is the local clock.
    The probe lives in the data root, never in a partner's folder.
    """
    probe = dirs.root / ".share-clock"
    try:
        with open(probe, "a"):
            pass
        os.utime(probe, None)
        return os.stat(probe).st_mtime
    except OSError:           # a read-only root: fall back to the local clock (logged once per call site)
        log.warning("klok van de gedeelde map niet leesbaar; lokale klok gebruikt")
        return time.time()


def waiting_in(dirs: DataDirs, partner: str) -> list[Path]:
    """Every candidate file in inbox/<partner>/, complete or not (lock, temp and hidden files excluded)."""
    folder = dirs.inbox / partner
    if not folder.is_dir():
        return []
    return [Path(e.path) for e in sorted(os.scandir(folder), key=lambda e: e.name)
            if not is_ignored(e.name) and (e.is_symlink() or e.is_file(follow_symlinks=False))]


def stable_files(dirs: DataDirs, partner: str, now: float | None = None) -> list[Path]:
    """Files in inbox/<partner>/ that are complete: unchanged for ``stable_seconds``.

    Both observations come from the file server's clock: the file's own mtime (stamped
    at its last write) and ``share_now`` (stamped now), so a worker host's clock skew
    cannot make a half-copied file look old (issue 15). A copy in progress keeps touching
    the file, so its mtime stays recent. Symlinks are returned too (they are refused,
    never followed). Sub-folders (the organisations' own folders under a shared source)
    are not files of this folder.
    """
    candidates = waiting_in(dirs, partner)
    wait = stable_seconds()
    if not candidates or wait <= 0:
        return candidates
    now = share_now(dirs) if now is None else now
    out = []
    for path in candidates:
        if path.is_symlink():
            out.append(path)
            continue
        try:
            st = path.stat(follow_symlinks=False)
        except FileNotFoundError:        # taken by another worker meanwhile
            continue
        if now - st.st_mtime >= wait:
            out.append(path)
    return out


def claim(dirs: DataDirs, store: Store, path: Path, partner: str, received: dt.datetime) -> Path | None:
    """Take a file from the inbox: a row in the store, then the rename into processing/.

    The row comes first and is the arbiter: its unique index admits one open claim per
    file (folder, name, size, mtime), so two hosts that both see the file cannot both take
    it, even on a share whose rename or locking is weaker than it should be. The rename
    then moves the file out of the partner's sight. Returns None when another run holds
    the claim or the file is gone. A crash between the two steps leaves a claim row and
    the file still in the inbox: the next run's ``_open_folder`` finishes the rename.
    """
    target = dirs.processing / partner / f"{received:%Y%m%dT%H%M%S%fZ}__{safe_name(path.name)}"
    try:
        st = path.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not store.claim_file(partner, path.name, st.st_size, st.st_mtime_ns, target.name, received.isoformat()):
        return None
    pause_point("after_claim_row")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, target)      # atomic on one filesystem; a symlink moves as a link
    except FileNotFoundError:        # taken back by the partner (or by a run that ignored the row)
        store.drop_claim(partner, target.name)
        return None
    return target


def _finish_claims(dirs: DataDirs, store: Store, org: Organisation) -> None:
    """Open claims of a folder after a crash (run under the partner lock, so none is in flight):
    a claim whose rename never happened gets it now; one whose file is neither in processing/
    nor in the inbox any more was settled before the claim row heard of it, and is closed."""
    for c in store.open_claims(org.folder):
        claimed = dirs.processing / org.folder / c["claimed_name"]
        if claimed.exists() or claimed.is_symlink():
            continue                                 # processed by the resume below
        source = dirs.inbox / org.folder / c["inbox_name"]
        try:
            st = source.stat(follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_size, st.st_mtime_ns) == (c["size"], c["mtime_ns"]):
            claimed.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, claimed)
            log.warning("claim van %s na een onderbreking afgemaakt", printable_name(c["inbox_name"]))
        else:
            store.settle_claim(org.folder, c["claimed_name"], None)


def _received_from_claim(path: Path) -> tuple[dt.datetime, str]:
    stamp, _, name = path.name.partition("__")
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC), name


def _levering_id(bron: str, received: dt.datetime, sha: str) -> str:
    return f"{bron}-{received:%Y%m%d-%H%M%S}-{sha[:8]}"


def _final_place(dirs: DataDirs, d: Delivery, claimed_name: str) -> Path:
    name = f"{d.levering_id}__{safe_name(claimed_name)}"
    folder = organisation_of(d.bron, d.organisatie).folder
    if d.persoonsgegevens or any(p["code"] == "verwerkingsfout" for p in d.problemen):
        return dirs.restricted / folder / name
    if d.status == DeliveryStatus.ACCEPTED:
        return dirs.archive / folder / name
    return dirs.quarantine / folder / name


def pause_point(name: str) -> None:
    """Test hook for the kill test (tests/intake/test_inbox.py); does nothing unless asked.

    With ``MONITOR_TEST_PAUSE_AT=<name>`` the process stops for good at that point:
    it writes its pid to ``MONITOR_TEST_PAUSE_FILE`` and sleeps, so that the test can
    SIGKILL it at a known step instead of guessing with timers. Points, in order:
    ``after_claim``, ``after_analyse``, ``after_record``, ``after_receipt``, ``after_move``.
    """
    if os.environ.get(PAUSE_ENV) != name:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    while True:
        time.sleep(3600)


def _receipt_for(d: Delivery, org: Organisation, counts: dict[str, int], superseded: list[dict]) -> Receipt:
    return Receipt(status=d.status, bron=d.bron, bron_naam=org.naam, bestand=d.bestandsnaam, organisatie=d.organisatie,
                   ontvangen_op=d.ontvangen_op, levering_id=d.levering_id, sha256=d.sha256, periodes=d.periodes,
                   aantallen=counts, problemen=[Problem.from_dict(p) for p in d.problemen], vervangt=superseded,
                   persoonsgegevens=d.persoonsgegevens, validatie=d.validatie)


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.rename(src, dst)


def settle(dirs: DataDirs, store: Store, d: Delivery, claimed: Path | None, claimed_name: str) -> Outcome:
    """Receipt first, then the move, then mark settled: each step safe to repeat."""
    final = _final_place(dirs, d, claimed_name)
    org = organisation_of(d.bron, d.organisatie)
    superseded = store.superseded_by(d.levering_id)
    receipt = _receipt_for(d, org, d.validatie.get("aantallen", {}), superseded)
    receipt.herkomst = read_summary(store, d.levering_id)      # from the store: the same after a resumed run
    if not d.persoonsgegevens:         # a copy of a file with personal data is never written anywhere
        copy = hook_markup(dirs, d, claimed if claimed is not None and claimed.exists() else final)
        receipt.gemarkeerde_kopie = copy.path.name if copy.path is not None else None
        receipt.gemarkeerde_kopie_fout = copy.why_not
    txt, _ = write_receipt(receipt, dirs.outbox / org.folder, receipt_stem(d.levering_id, d.ontvangen_op, d.bestandsnaam))
    pause_point("after_receipt")
    if claimed is not None and (claimed.exists() or claimed.is_symlink()):
        _move(claimed, final)
    pause_point("after_move")
    store.mark_settled(d.levering_id, str(final.relative_to(dirs.root)))
    log.info("levering %s (%s, %s): %s -> %s", d.levering_id, d.bron, printable_name(d.bestandsnaam), d.status, final)
    return Outcome(d.bron, d.bestandsnaam, d.status, d.levering_id, final, txt,
                   tuple(sorted({p["code"] for p in d.problemen if p["severity"] == "fout"})), d.organisatie)


def hook_markup(dirs: DataDirs, d: Delivery, workbook: Path) -> markup.MarkedCopy:
    """The marked-up partner copy (see etl.intake.markup).

    The copy is a courtesy: if it fails, the receipt, the move and the record still
    happen (otherwise one odd workbook would stop the inbox on every run). Only the
    exception type is logged, never its text, which could quote cell values.
    """
    try:
        return markup.write_for_delivery(dirs, d, workbook)
    except Exception as exc:  # noqa: BLE001 - see docstring
        log.error("gemarkeerde kopie voor %s niet gemaakt (%s)", d.levering_id, type(exc).__name__)
        return markup.MarkedCopy(why_not=markup.why_no_copy(workbook))


def _duplicate(dirs: DataDirs, store: Store, org: Organisation, claimed: Path, name: str, received: dt.datetime,
               sha: str, first: Delivery, lid: str) -> Outcome:
    bron = org.bron
    received_iso = received.replace(microsecond=0).isoformat()
    final = dirs.archive / org.folder / "dubbel" / f"{lid}__{safe_name(name)}"
    r = Receipt(status=DeliveryStatus.DUPLICATE, bron=bron, bron_naam=org.naam, bestand=name, ontvangen_op=received_iso,
                levering_id=lid, sha256=sha, periodes=first.periodes, eerder_ontvangen_als=first.levering_id,
                organisatie=org.code)
    txt, _ = write_receipt(r, dirs.outbox / org.folder, receipt_stem(lid, received_iso, name))
    if not store.has_event("dubbel", lid):   # a rerun after a kill logs the duplicate once
        store.log_event("dubbel", bron=bron, levering_id=lid, sha256=sha, bestandsnaam=name, eerder=first.levering_id,
                        organisatie=org.code)
    _move(claimed, final)
    return Outcome(bron, name, DeliveryStatus.DUPLICATE, lid, final, txt, (), org.code)


class Analyses:
    """The analyses of claimed files, each in its own limited child, started ahead.

    Why: one analysis uses one core. The inbox claims the files of a folder (and opens the
    next folders) first, starts their analyses here, up to ``parallel`` at a time, and then
    records and settles each file in claim order while the next ones are analysed. The
    order of the records, and so which delivery supersedes which, is the claim order, as
    when one file is analysed after the other.

    An attempt is counted in the store when the child is submitted, as before its fork,
    so a kill of this process while children run counts for every file in flight.
    """

    def __init__(self, store: Store, limits: Limits | None, parallel: int = 1) -> None:
        self.store, self.limits = store, limits
        self.children = Children(parallel)
        self._attempt: dict[tuple[str, str], int] = {}

    def __enter__(self) -> Analyses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.children.close()

    @property
    def busy(self) -> bool:
        """Enough analyses in flight to keep every slot filled."""
        return self.children.outstanding >= self.children.parallel

    def start(self, org: Organisation, claimed: Path) -> int:
        """Count an attempt and start the analysis (unless already started); the attempt number."""
        key = (org.folder, claimed.name)
        if key not in self._attempt:
            self._attempt[key] = attempt = self.store.start_attempt(org.folder, claimed.name)
            if attempt <= MAX_PROCESS_ATTEMPTS:
                self.children.submit(key, _analyse_in_child, claimed, get_source(org.bron), self.limits, org,
                                     on_start=lambda pid: self.store.note_attempt(org.folder, claimed.name, pid=pid))
        return self._attempt[key]

    def prefetch(self, org: Organisation, claimed: Path) -> None:
        """Start the analysis of a file that will most likely need one (a duplicate or a
        resumed record will not: ``drop`` forgets it then)."""
        if org.code and not claimed.is_symlink():
            self.start(org, claimed)

    def result(self, org: Organisation, claimed: Path):
        try:
            return self.children.result((org.folder, claimed.name))
        finally:
            self._attempt.pop((org.folder, claimed.name), None)

    def drop(self, org: Organisation, claimed: Path, *, attempts_done: bool = True) -> None:
        """Stop tracking the file: kill its child if one runs, and (``attempts_done``) end its
        attempts row, as when it needs no analysis after all. A file refused for too many
        attempts keeps the row until its record, for the cause of the last death."""
        key = (org.folder, claimed.name)
        self.children.discard(key)
        if self._attempt.pop(key, None) is not None and attempts_done:
            self.store.finish_attempts(org.folder, claimed.name)


def process_claimed(dirs: DataDirs, store: Store, org: Organisation, claimed: Path,
                    limits: Limits | None = None, analyses: Analyses | None = None) -> Outcome:
    """A claimed file to its final place with a receipt; then its claim row ends. (Raises
    leave the file in processing/ and the claim open: the next run resumes both.)"""
    if analyses is None:
        with Analyses(store, limits) as own:
            outcome = _process_claimed(dirs, store, org, claimed, own)
    else:
        outcome = _process_claimed(dirs, store, org, claimed, analyses)
    store.settle_claim(org.folder, claimed.name, outcome.levering_id)
    return outcome


def _process_claimed(dirs: DataDirs, store: Store, org: Organisation, claimed: Path, analyses: Analyses) -> Outcome:
    bron, folder = org.bron, org.folder
    received, name = _received_from_claim(claimed)
    original = name
    if claimed.is_symlink():
        sha = hashlib.sha256(os.readlink(claimed).encode()).hexdigest()
    else:
        sha = sha256_of(claimed)
    lid, recorded = _claim_identity(store, bron, received, sha, original)
    if recorded is not None:
        log.warning("hervat onderbroken verwerking van %s", lid)
        analyses.drop(org, claimed)
        store.finish_attempts(folder, claimed.name)
        return settle(dirs, store, recorded, claimed, original)
    first = store.accepted_with_hash(bron, org.code, sha)
    if first is not None:
        analyses.drop(org, claimed)
        return _duplicate(dirs, store, org, claimed, original, received, sha, first, lid)
    if not org.code:
        analysis = Analysis(accepted=False, problems=[_no_organisation_problem(bron)])
    elif claimed.is_symlink():
        problems = [error("snelkoppeling", "Het bestand is een snelkoppeling (symbolische link), geen echt bestand.",
                          "Zet het bestand zelf in de map, niet een snelkoppeling ernaar.")]
        analysis = Analysis(accepted=False, problems=problems)
    else:
        analysis = _analyse_guarded(store, org, claimed, lid, sha, original, analyses)
    pause_point("after_analyse")
    status = DeliveryStatus.ACCEPTED if analysis.accepted else DeliveryStatus.REJECTED
    d = Delivery(levering_id=lid, bron=bron, organisatie=org.code, bestandsnaam=original, sha256=sha,
                 ontvangen_op=received.replace(microsecond=0).isoformat(), status=status,
                 persoonsgegevens=analysis.personal_data, periodes=analysis.periodes,
                 problemen=[p.to_dict() for p in analysis.problems],
                 validatie={**analysis.validation.to_dict(), "aantallen": analysis.counts},
                 opgeslagen_als=None, afgerond=False)
    store.record(d, analysis.values if analysis.accepted else None)
    store.finish_attempts(folder, claimed.name)
    pause_point("after_record")
    return settle(dirs, store, d, claimed, original)


def _no_organisation_problem(bron: str) -> Problem:
    folders = ", ".join(f"inbox/{o.folder}/" for o in organisations(bron))
    return error("organisatie_onbekend",
                 f"Dit bestand staat in de gedeelde map inbox/{bron}/ en hoort daardoor bij geen enkele organisatie; "
                 "het is niet gelezen.",
                 f"Zet het bestand in de map van uw eigen organisatie ({folders}) en lever het daar opnieuw aan.")


def _analyse_in_child(path: Path, source, limits: Limits | None, org: Organisation | None = None) -> Analysis:
    """The child's work: the whole analysis; the parsed sheets stay in the child (the parent
    needs only problems, quarters and dataset rows, and the pipe is capped)."""
    analysis = analyse(path, source, limits, org)
    analysis.read = None
    return analysis


def _analyse_guarded(store: Store, org: Organisation, claimed: Path, lid: str, sha: str, name: str,
                     analyses: Analyses) -> Analysis:
    """``analyse`` in a limited child, counted per claimed file; never raises for the file's sake."""
    key, bron, folder = claimed.name, org.bron, org.folder
    attempt = analyses.start(org, claimed)           # started ahead, or now
    while True:
        if attempt > MAX_PROCESS_ATTEMPTS:
            analyses.drop(org, claimed, attempts_done=False)
            earlier = store.attempts(folder, key) or {}
            return _dead_letter(store, bron, lid, sha, name, attempt - 1,
                                earlier.get("last_failure") or "het verwerkende proces stopte (gestopt of afgebroken)")
        try:
            analysis, report = analyses.result(org, claimed)
        except ChildRaised as exc:
            return _crashed(lid, exc.type_name, exc.where)
        except ChildDied as exc:
            failure = f"{exc.kind}: {exc.detail}"
            store.note_attempt(folder, key, failure=failure)
            log.error("analyse van %s (%s) poging %d afgebroken: %s; pid %d, %.1f s, piek %d MB",
                      lid, bron, attempt, failure, exc.report.pid, exc.report.seconds, exc.report.peak_rss_bytes >> 20)
            if exc.kind == "tijd" or attempt >= MAX_ATTEMPTS:
                return _dead_letter(store, bron, lid, sha, name, attempt, failure, exc.report.peak_rss_bytes,
                                    exc.report.seconds)
            attempt = analyses.start(org, claimed)
            continue
        log.info("analyse van %s: %.2f s, piek %d MB (pid %d)", lid, report.seconds, report.peak_rss_bytes >> 20, report.pid)
        return analysis


def _dead_letter(store: Store, bron: str, lid: str, sha: str, name: str, attempts: int, failure: str,
                 peak_rss: int | None = None, seconds: float | None = None) -> Analysis:
    """Processing this file died ``attempts`` times: refuse it with ``verwerkingsfout`` and
    alert the data team (ERROR log and an audit event; the bytes go to the restricted quarantine)."""
    log.error("verwerkingsfout: %s (%s) na %d poging(en) niet te lezen (%s); bestand naar quarantaine, team gewaarschuwd",
              lid, bron, attempts, failure)
    store.log_event("verwerkingsfout", bron=bron, levering_id=lid, sha256=sha, bestandsnaam=name,
                    pogingen=attempts, oorzaak=failure, piek_geheugen_mb=None if peak_rss is None else peak_rss >> 20,
                    seconden=None if seconds is None else round(seconds, 2))
    return Analysis(accepted=False, problems=[error(
        "verwerkingsfout", "Dit bestand kon niet worden gelezen; het team is gewaarschuwd.",
        "U hoeft nu niets te doen: wij bekijken het bestand en nemen contact met u op. Neem bij vragen contact op "
        "en noem het kenmerk.", extra={"oorzaak": failure.split(":")[0], "pogingen": attempts})])


def _crashed(lid: str, type_name: str, where: str) -> Analysis:
    """A bug of ours must not stop the inbox: without this, the file would stay in
    processing/ and crash every later run, blocking the partner's other files.

    The file is rejected with ``verwerkingsfout`` and kept in the *restricted* quarantine:
    the personal-data screen may not have finished with it. An operator moves it back to
    the inbox after the fix (a rejected file is analysed again). Only the exception type
    and the code locations are logged, never the message, which could quote cell values.
    """
    log.error("analyse van %s mislukt: %s at %s", lid, type_name, where)
    return Analysis(accepted=False, problems=[error(
        "verwerkingsfout", "Het bestand kon door een fout aan onze kant niet worden verwerkt.",
        "U hoeft nu niets te doen: wij zijn gewaarschuwd en verwerken het bestand opnieuw zodra de fout is verholpen. "
        "Neem bij vragen contact op en noem het kenmerk.")])


def _claim_identity(store: Store, bron: str, received: dt.datetime, sha: str, name: str) -> tuple[str, Delivery | None]:
    """This claimed file's delivery id, and the record an earlier (killed) run made for it.

    The id comes from the claim itself (the second it was received, recorded in the
    claimed file name, and the content hash), so a rerun finds exactly the record it
    made, not some other delivery with the same content. Two claims that share both
    (the same content dropped twice, under two names, in one second) are told apart
    by the name.
    """
    base = _levering_id(bron, received, sha)
    named = f"{base}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    for lid in (base, named, *(f"{named}-{n}" for n in range(2, 1000))):
        d = store.delivery(lid)
        if d is None:
            return lid, None
        if d.bestandsnaam == name and not d.afgerond:
            return lid, d        # our own record from a killed run: resume it
        # A settled record with this id is an earlier drop of the same bytes in the same
        # second; this claim is a new delivery and gets the next free id.
    raise RuntimeError(f"no free delivery id for {base}")


@dataclass
class _OpenFolder:
    """A partner folder whose lock this run holds, with what is left to finish there, in order:
    the files a killed run claimed, its recorded but unsettled deliveries, then this run's claims."""

    org: Organisation
    lock: ExitStack
    resumed: list[Path]              # claimed by a run that was killed
    claimed: list[Path]              # claimed by this run
    steps: deque = field(init=False)

    def __post_init__(self) -> None:
        self.steps = deque([*self.resumed, None, *self.claimed])      # None: the unsettled records

    @property
    def done(self) -> bool:
        return not self.steps


def _left_in_processing(dirs: DataDirs, org: Organisation) -> list[Path]:
    """Files a killed run claimed and did not finish (run under the folder's lock)."""
    folder = dirs.processing / org.folder
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if "__" in p.name and not p.name.startswith(".") and not p.is_dir())


def _open_folder(dirs: DataDirs, store: Store, org: Organisation, analyses: Analyses, cold: bool,
                 wait: float = 900.0) -> _OpenFolder:
    """Lock the folder (``TimeoutError`` after ``wait`` s), finish interrupted claims, claim
    every stable file, start analyses."""
    lock = ExitStack()
    lock.enter_context(inbox_lock(dirs, org.folder, store, timeout=wait))
    try:
        _isolated([], org.bron, org.folder, lambda: _finish_claims(dirs, store, org))     # logged, never raised
        resumed = _left_in_processing(dirs, org)
        stable = stable_files(dirs, org.folder)
        if cold and (resumed or stable):
            warm_up()        # GX and pandas once, in the parent, before the first fork (cheap when done)
        claimed: list[Path] = []
        for path in stable:
            received = store.now()           # the store's clock: one clock for every host
            c = claim(dirs, store, path, org.folder, received)
            if c is None:                    # another host's run holds it, or it is gone
                continue
            pause_point("after_claim")
            claimed.append(c)
        for c in (*resumed, *claimed):
            _isolated([], org.bron, c.name, lambda c=c: analyses.prefetch(org, c))
        return _OpenFolder(org, lock, resumed, claimed)
    except BaseException:
        lock.close()
        raise


def _finish_step(dirs: DataDirs, store: Store, opened: _OpenFolder, analyses: Analyses) -> list[Outcome]:
    """The folder's next file (recorded and settled) or its unsettled records; the lock is
    released after the last step, and on any error."""
    org, outcomes = opened.org, []
    try:
        step = opened.steps.popleft()
        if step is None:
            for d in store.unsettled(org.bron, org.code):
                final = _final_place(dirs, d, f"{d.bestandsnaam}")
                if final.exists() or final.is_symlink():
                    _isolated(outcomes, org.bron, d.levering_id, lambda d=d: settle(dirs, store, d, None, d.bestandsnaam))
        else:
            _isolated(outcomes, org.bron, step.name, lambda: process_claimed(dirs, store, org, step, analyses=analyses))
    except BaseException:
        opened.steps.clear()
        opened.lock.close()
        raise
    if opened.done:
        opened.lock.close()
    return outcomes


def _isolated(outcomes: list[Outcome], bron: str, what: str, step) -> None:
    """One file's failure (in the store, a receipt, a move) never stops the next file. The file
    stays where it is (processing/ or its record unsettled) and the next run resumes it;
    only the exception type and code locations are logged."""
    try:
        outcomes.append(step())
    except Exception as exc:  # noqa: BLE001 - see docstring
        where = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(traceback.extract_tb(exc.__traceback__)))
        log.error("verwerking van %s (%s) mislukt, volgende run probeert opnieuw: %s at %s",
                  printable_name(what), bron, type(exc).__name__, where)


def _pending_bytes(dirs: DataDirs, org: Organisation) -> int:
    """What waits in a folder (inbox and processing/), in bytes; a lost race counts 0."""
    total = 0
    for path in (*waiting_in(dirs, org.folder), *_left_in_processing(dirs, org)):
        try:
            total += path.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            pass
    return total


def _largest_first(dirs: DataDirs, orgs: list[Organisation]) -> list[Organisation]:
    """Folders with the most waiting bytes first, the rest in their usual order.

    Folders are independent (each has its own lock, claims and supersede order), so their
    order changes no outcome; it decides how well the cores are used. The big files started
    first leave the small ones to fill the other cores, instead of one big file analysed
    alone at the end (longest job first). Within a folder the order stays the claim order."""
    sizes = {org.folder: _pending_bytes(dirs, org) for org in orgs}
    return sorted(orgs, key=lambda org: -sizes[org.folder])


def process_inbox(dirs: DataDirs | None = None, sources: tuple[str, ...] = SOURCES,
                  limits: Limits | None = None, parallel: int | None = None) -> list[Outcome]:
    """One pass over the inbox: resume, then claim and process every stable file.

    Folders are opened (locked, claimed, analyses started) ahead of the one being finished
    while fewer than ``parallel`` analyses are in flight (``MONITOR_PARSE_PARALLEL``, default
    the usable cores, at most 4), so the cores analyse the next files while this process
    records and settles, one file at a time. Each file is still recorded in claim order within
    its folder. The folders with the most waiting bytes are opened first (``_largest_first``).
    """
    dirs = (dirs or DataDirs.from_env()).ensure()
    outcomes: list[Outcome] = []
    cold = True                       # GX not yet imported in this process
    pending: deque[_OpenFolder] = deque()
    with Store.open(dirs) as store, Analyses(store, limits, parallel or analysis_parallel()) as analyses:
        todo = deque(_largest_first(dirs, [org for bron in sources for org in partner_folders(bron)]))
        later: deque[Organisation] = deque()     # locked by another run while we held others
        slots = analyses.children.parallel
        try:
            while todo or pending or later:
                if not todo and not pending:
                    todo, later = later, deque()
                # Open the next folder while a core is free (and a few folders at most are held);
                # otherwise finish one file of the oldest open folder.
                if todo and (not pending or (len(pending) <= slots and not analyses.busy)):
                    org = todo.popleft()
                    try:
                        # Holding other folders, never wait for one: two runs that hold one
                        # folder each and wait for the other's would both stall. Holding none,
                        # wait as a single run always did.
                        opened = _open_folder(dirs, store, org, analyses, cold, wait=0.0 if pending else 900.0)
                    except TimeoutError:
                        if pending:
                            later.append(org)
                        else:
                            log.error("inbox van %s overgeslagen: de map blijft bezet door een andere run", org.folder)
                        continue
                    except Exception as exc:  # noqa: BLE001 - one folder's failure never stops the next
                        log.error("inbox van %s overgeslagen door een fout: %s", org.folder, type(exc).__name__)
                        continue
                    cold = cold and not (opened.resumed or opened.claimed)
                    pending.append(opened)
                    continue
                oldest = pending[0]
                try:
                    outcomes.extend(_finish_step(dirs, store, oldest, analyses))
                except Exception as exc:  # noqa: BLE001 - one folder's failure never stops the next
                    log.error("inbox van %s overgeslagen door een fout: %s", oldest.org.folder, type(exc).__name__)
                if oldest.done:
                    pending.popleft()
        finally:
            for opened in pending:               # only after an error above: the next run resumes them
                opened.lock.close()
    return outcomes
