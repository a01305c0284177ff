"""Exactly once: stability window, ignored files, duplicates, superseding, idempotent runs,
partner isolation, and a real process killed at every step of the intake.

No mocks: files on disk, the real SQLite store, and for the kill test real
``python -m etl ingest`` processes that are SIGKILLed (see ``etl.intake.inbox.pause_point``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from etl.core.config import DataDirs
from tests.conftest import ROOT, drop, folder
from tests.fixtures.catalogue import (
    CASES,
    VT_COLS,
    _sheet,
    _writer,
    build_case,
    expect,
    vt_rows,
    vt_sheets,
)

BY_NAME = {c.name: c for c in CASES}


def _build(name: str, directory: Path, filename: str | None = None) -> Path:
    case = BY_NAME[name]
    path = build_case(case, directory / name)
    if filename:
        path = path.rename(path.with_name(filename))
    return path


def _corrected_vt(path: Path, extra: int = 10) -> None:
    """The baseline VT file with Groningen's partner violence corrected upwards (sums still add up)."""
    rows = vt_rows()
    for col in ("meldingen_totaal", "meldingen_partnergeweld", "melder_politie"):
        rows[0][VT_COLS.index(col)] += extra
    _writer(lambda: vt_sheets(_sheet("Meldingen", VT_COLS, rows)))(path)


def _tree(root: Path) -> dict[str, str]:
    """Every file under the data dir (the store's own files excepted) -> content hash."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = "link:" + os.readlink(p)
        elif p.is_file() and not p.name.startswith(".") and p.parent.name != "store":
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _dump(dirs: DataDirs) -> list[str]:
    con = sqlite3.connect(dirs.db_path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def _process(dirs: DataDirs):
    from etl.intake.inbox import process_inbox

    return process_inbox(dirs)


# --- what is (not) picked up ---------------------------------------------------------------

def test_file_still_being_written_is_not_picked_up(data_dirs, tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_STABLE_SECONDS", "10")
    src = _build("baseline_veilig_thuis", tmp_path)
    target = data_dirs.inbox / "veilig_thuis" / "vt.xlsx"
    target.write_bytes(src.read_bytes()[:3000])          # a copy in progress: fresh mtime
    assert _process(data_dirs) == []
    assert target.exists() and list((data_dirs.processing / "veilig_thuis").iterdir()) == []
    assert list(data_dirs.outbox.rglob("*.json")) == []

    target.write_bytes(src.read_bytes())                  # the copy finishes; ten seconds pass
    os.utime(target, (time.time() - 11, time.time() - 11))
    [outcome] = _process(data_dirs)
    assert outcome.status == "geaccepteerd"


def test_stability_is_judged_by_the_share_clock_not_the_local_one(data_dirs, tmp_path, monkeypatch):
    """Both observations come from the file system's clock: the file's mtime and a probe
    stamped now. A file whose mtime lies ahead of the share's clock (written through a host
    whose clock runs fast) waits; the local clock plays no part."""
    from etl.intake.inbox import share_now, stable_files

    monkeypatch.setenv("MONITOR_STABLE_SECONDS", "10")
    src = _build("baseline_veilig_thuis", tmp_path)
    target = data_dirs.inbox / "veilig_thuis" / "vt.xlsx"
    target.write_bytes(src.read_bytes())
    share = share_now(data_dirs)
    assert abs(share - time.time()) < 5                      # local disk: the share clock is the local one
    assert (data_dirs.root / ".share-clock").exists() and not list(data_dirs.inbox.rglob(".share-clock"))
    mtime = target.stat().st_mtime
    assert stable_files(data_dirs, "veilig_thuis", now=mtime + 9) == []
    assert stable_files(data_dirs, "veilig_thuis", now=mtime + 10) == [target]
    os.utime(target, (share + 3600, share + 3600))            # stamped an hour "in the future"
    assert stable_files(data_dirs, "veilig_thuis") == []
    monkeypatch.setattr(time, "time", lambda: share + 7200)   # a local clock far ahead changes nothing
    assert stable_files(data_dirs, "veilig_thuis") == []
    assert _process(data_dirs) == [] and target.exists()


IGNORED = ["~$vt_2024Q3.xlsx", ".vt_2024Q3.xlsx", ".~lock.vt_2024Q3.xlsx#", "vt_2024Q3.xlsx.tmp",
           "vt_2024Q3.xlsx.part", "vt_2024Q3.xlsx.filepart", "vt_2024Q3.xlsx.crdownload", "vt_2024Q3.xlsx~",
           "Thumbs.db", "desktop.ini", ".DS_Store"]


def test_lock_temp_and_hidden_files_are_ignored_and_left_alone(data_dirs, tmp_path):
    src = _build("baseline_veilig_thuis", tmp_path)
    for name in IGNORED:
        drop(data_dirs, "veilig_thuis", src, name)
    before = _tree(data_dirs.root)
    assert _process(data_dirs) == []
    assert _tree(data_dirs.root) == before
    assert sorted(p.name for p in (data_dirs.inbox / "veilig_thuis").iterdir()) == sorted(IGNORED)
    assert not data_dirs.db_path.exists() or _dataset(data_dirs).empty


def _dataset(dirs: DataDirs) -> pd.DataFrame:
    from etl.store.dataset import load

    return load(None, dirs)


# --- duplicates ------------------------------------------------------------------------------

def test_same_file_twice_is_recognised_and_counted_once(data_dirs, tmp_path):
    src = _build("baseline_veilig_thuis", tmp_path)
    drop(data_dirs, "veilig_thuis", src, "vt_2024Q3.xlsx")
    [first] = _process(data_dirs)
    ds1 = _dataset(data_dirs)

    drop(data_dirs, "veilig_thuis", src, "vt_2024Q3 (2).xlsx")
    [second] = _process(data_dirs)
    assert first.status == "geaccepteerd" and second.status == "dubbel"
    assert second.location.parent == data_dirs.archive / "veilig_thuis" / "dubbel"
    js = json.loads(second.receipt.with_suffix(".json").read_text(encoding="utf-8"))
    assert js["status"] == "dubbel" and js["eerder_ontvangen_als"] == first.levering_id
    text = second.receipt.read_text(encoding="utf-8")
    assert "AL ONTVANGEN" in text and first.levering_id in text and "niet nog een keer meegeteld" in text

    pd.testing.assert_frame_equal(_dataset(data_dirs), ds1)
    con = sqlite3.connect(data_dirs.db_path)
    assert con.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM audit_log WHERE actie = 'dubbel'").fetchone()[0] == 1


def test_identical_files_in_one_run(data_dirs, tmp_path):
    """Two names, one content, claimed in the same second: no crash, one delivery, one duplicate.
    The same for a broken file: both get a rejection, each its own delivery id."""
    good = _build("baseline_veilig_thuis", tmp_path)
    bad = _build("truncated_zip", tmp_path)
    for name in ("a.xlsx", "b.xlsx"):
        drop(data_dirs, "veilig_thuis", good, name)
        drop(data_dirs, "wij", bad, name)
    outcomes = _process(data_dirs)
    assert [(o.bron, o.status) for o in outcomes] == [("veilig_thuis", "geaccepteerd"), ("veilig_thuis", "dubbel"),
                                                      ("wij", "afgekeurd"), ("wij", "afgekeurd")]
    assert len({o.levering_id for o in outcomes}) == 4
    assert len({o.receipt for o in outcomes}) == 4
    assert _process(data_dirs) == []


def test_same_broken_file_same_name_same_second_is_two_deliveries(data_dirs, tmp_path):
    """A rejected file dropped again under the same name within the same second is a new
    delivery with its own receipt and its own place, not a resume of the settled first one."""
    import datetime as dt

    from etl.core.organisations import original
    from etl.intake.inbox import claim, process_claimed
    from etl.store.db import Store

    wij = original("wij")
    bad = _build("truncated_zip", tmp_path)
    second = dt.datetime(2024, 10, 5, 8, 30, 0, tzinfo=dt.UTC)
    with Store(data_dirs.db_path) as store:
        outcomes = []
        for micro in (1, 2):
            path = drop(data_dirs, "wij", bad, "wij.xlsx")
            claimed = claim(data_dirs, store, path, wij.folder, second.replace(microsecond=micro))
            outcomes.append(process_claimed(data_dirs, store, wij, claimed))
    assert [o.status for o in outcomes] == ["afgekeurd", "afgekeurd"]
    assert outcomes[0].levering_id != outcomes[1].levering_id
    assert outcomes[0].location != outcomes[1].location
    assert outcomes[0].receipt != outcomes[1].receipt and all(o.receipt.exists() for o in outcomes)
    assert all(o.location.exists() for o in outcomes)
    assert len(list((data_dirs.quarantine / wij.folder).glob("*.xlsx"))) == 2


# --- superseding -----------------------------------------------------------------------------

def test_corrected_file_supersedes_the_earlier_delivery(data_dirs, tmp_path):
    v1 = _build("baseline_veilig_thuis", tmp_path)
    v2 = tmp_path / "vt_2024Q3_correctie.xlsx"
    _corrected_vt(v2)
    drop(data_dirs, "veilig_thuis", v1, "vt_2024Q3.xlsx")
    [o1] = _process(data_dirs)
    drop(data_dirs, "veilig_thuis", v2)
    [o2] = _process(data_dirs)
    assert o1.status == o2.status == "geaccepteerd" and o1.levering_id != o2.levering_id

    ds = _dataset(data_dirs)
    assert set(ds.levering_id) == {o2.levering_id}
    expect(ds, "2024Q3", "gemeente", "GM0014", "meldingen_totaal", 48)
    expect(ds, "2024Q3", "gemeente", "GM0014", "meldingen_partnergeweld", 30)
    expect(ds, "2024Q3", "regio", "regio", "meldingen_totaal", sum(38 + 2 * i for i in range(10)) + 10)
    # The earlier delivery's values stay in the store, not current.
    con = sqlite3.connect(data_dirs.db_path)
    assert con.execute("SELECT count(*) FROM dataset_values WHERE levering_id = ?", (o1.levering_id,)).fetchone()[0] > 0
    assert con.execute("SELECT actueel, vervangen_door FROM delivery_quarters WHERE levering_id = ?",
                       (o1.levering_id,)).fetchall() == [(0, o2.levering_id)]

    # The audit log: who, when, both deliveries and both hashes.
    audit = pd.read_sql_query("SELECT * FROM audit_log WHERE actie = 'vervangen'", con)
    assert len(audit) == 1
    row = audit.iloc[0]
    details = json.loads(row.details)
    sha1 = hashlib.sha256(v1.read_bytes()).hexdigest()
    sha2 = hashlib.sha256(v2.read_bytes()).hexdigest()
    assert (row.levering_id, row.sha256, row.bron) == (o2.levering_id, sha2, "veilig_thuis")
    assert details == {"periode": "2024Q3", "organisatie": "veilig-thuis-groningen",
                       "vervangen_levering_id": o1.levering_id, "vervangen_sha256": sha1,
                       "vervangen_bestandsnaam": "vt_2024Q3.xlsx"}
    assert row.door and row.tijdstip

    # The earlier file stays in the archive; the new receipt says what it replaced.
    assert o1.location.exists() and o2.location.exists()
    assert (f"vervangt uw eerdere levering voor 2024Q3 (3e kwartaal 2024) in zijn geheel (kenmerk van die levering: "
            f"{o1.levering_id})") in o2.receipt.read_text(encoding="utf-8")


def test_supersede_is_per_quarter_and_a_rejected_correction_changes_nothing(data_dirs, tmp_path):
    backfill = _build("open_case_in_two_quarters", tmp_path)      # 2024Q2 + 2024Q3
    q3 = _build("baseline_wij", tmp_path)                          # 2024Q3 only
    broken = _build("unknown_wijk", tmp_path)                      # 2024Q3, rejected
    drop(data_dirs, "wij", backfill)
    [o1] = _process(data_dirs)
    drop(data_dirs, "wij", q3)
    [o2] = _process(data_dirs)
    before = _dataset(data_dirs)
    drop(data_dirs, "wij", broken)
    [o3] = _process(data_dirs)
    assert (o1.status, o2.status, o3.status) == ("geaccepteerd", "geaccepteerd", "afgekeurd")
    ds = _dataset(data_dirs)
    pd.testing.assert_frame_equal(ds, before)
    assert set(ds[ds.periode == "2024Q2"].levering_id) == {o1.levering_id}
    assert set(ds[ds.periode == "2024Q3"].levering_id) == {o2.levering_id}


# --- idempotence and isolation ------------------------------------------------------------------

def _drop_mixed(dirs: DataDirs, tmp_path: Path) -> None:
    for case, name in [("baseline_veilig_thuis", None), ("baseline_wij", None), ("unknown_gemeente", None),
                       ("pii_header_bsn", None), ("baseline_veilig_thuis", "vt_2024Q3_kopie.xlsx"),
                       ("occupancy_above_100", None)]:
        c = BY_NAME[case]
        drop(dirs, c.source, build_case(c, tmp_path / case), name or c.filename)


def test_a_second_run_changes_nothing(data_dirs, tmp_path):
    _drop_mixed(data_dirs, tmp_path)
    outcomes = _process(data_dirs)
    assert sorted(o.status for o in outcomes) == ["afgekeurd", "afgekeurd", "afgekeurd", "dubbel",
                                                  "geaccepteerd", "geaccepteerd"]
    tree, dump = _tree(data_dirs.root), _dump(data_dirs)
    assert _process(data_dirs) == []
    assert _process(data_dirs) == []
    assert _tree(data_dirs.root) == tree
    assert _dump(data_dirs) == dump


def test_a_partners_folder_only_changes_that_partners_data(data_dirs, tmp_path):
    """The folder decides the source: a workbook holding another partner's sheets writes nothing there."""
    from tests.fixtures.catalogue import wij_sheets

    both = tmp_path / "both.xlsx"
    _writer(lambda: wij_sheets() + vt_sheets())(both)
    drop(data_dirs, "wij", both, "wij_2024Q3.xlsx")
    [o] = _process(data_dirs)
    assert o.status == "geaccepteerd"
    ds = _dataset(data_dirs)
    assert set(ds.bron) == {"wij"}
    js = json.loads(o.receipt.with_suffix(".json").read_text(encoding="utf-8"))
    assert {p["tabblad"] for p in js["problemen"] if p["code"] == "tabblad_genegeerd"} == {"Meldingen", "Doorlooptijden"}

    drop(data_dirs, "vrouwenopvang", _build("baseline_veilig_thuis", tmp_path))
    [o] = _process(data_dirs)
    assert o.status == "afgekeurd" and o.problem_codes == ("geen_bekende_tabbladen",)
    assert set(_dataset(data_dirs).bron) == {"wij"}
    assert list((data_dirs.outbox / "veilig_thuis").iterdir()) == []


# --- the kill test --------------------------------------------------------------------------------

KILL_FILES = [("veilig_thuis", "baseline_veilig_thuis", "vt_2024Q3.xlsx"),
              ("veilig_thuis", None, "vt_2024Q3_correctie.xlsx"),
              ("veilig_thuis", "baseline_veilig_thuis", "vt_2024Q3_kopie.xlsx"),
              ("wij", "open_case_in_two_quarters", "wij_2024Q2_Q3.xlsx"),
              ("wij", "pii_bsn_in_casus_id", "wij_bsn.xlsx"),
              ("vrouwenopvang", "occupancy_above_100", "vo_2024Q3.xlsx"),
              ("vrouwenopvang", "baseline_vrouwenopvang", "vo_2024Q3_v2.xlsx")]
POINTS = ["after_claim_row", "after_claim", "after_analyse", "after_record", "after_receipt", "after_move"]
PLACES = ("inbox", "processing", "archive", "quarantine", "quarantine-restricted")


@pytest.fixture(scope="module")
def kill_files(tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """file name -> (source, content)."""
    d = tmp_path_factory.mktemp("kill_files")
    out = {}
    for bron, case, name in KILL_FILES:
        if case is None:
            _corrected_vt(d / name)
            path = d / name
        else:
            path = _build(case, d, name)
        out[name] = (bron, path.read_bytes())
    return out


def _drop_all(dirs: DataDirs, files: dict[str, tuple[str, bytes]]) -> None:
    for name, (bron, content) in files.items():
        p = dirs.inbox / folder(bron) / name
        p.write_bytes(content)
        os.utime(p, (0, 0))


def _where_is_everything(dirs: DataDirs, files: dict[str, tuple[str, bytes]]) -> dict[str, list[str]]:
    """Original file name -> the places holding a file with its content (by hash)."""
    by_hash: dict[str, list[str]] = {}
    for place in PLACES:
        for p in (dirs.root / place).rglob("*"):
            if p.is_file():
                by_hash.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), []).append(place)
    out = {}
    for name, (_, content) in files.items():
        out[name] = by_hash.get(hashlib.sha256(content).hexdigest(), [])
    return out


def _assert_nothing_lost(dirs: DataDirs, files: dict[str, tuple[str, bytes]], finished: bool) -> None:
    where = _where_is_everything(dirs, files)
    # The copy and the original of the VT file have one content: count copies, not names.
    copies = {"vt_2024Q3.xlsx": 2, "vt_2024Q3_kopie.xlsx": 2}
    for name, places in where.items():
        assert len(places) == copies.get(name, 1), (name, places)
        if finished:
            assert "processing" not in places and "inbox" not in places, (name, places)
    restricted = dirs.root / "quarantine-restricted"
    bsn = hashlib.sha256(files["wij_bsn.xlsx"][1]).hexdigest()
    for place in ("archive", "quarantine"):
        for p in (dirs.root / place).rglob("*"):
            assert not (p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == bsn), "personal data left the restricted area"
    if finished:
        assert where["wij_bsn.xlsx"] == ["quarantine-restricted"] and any(restricted.rglob("*.xlsx"))


def _run_ingest(dirs: DataDirs, pause_at: str | None = None, kill_after: float | None = None) -> str:
    """Run ``python -m etl ingest`` in its own process; pause at a point and SIGKILL it there.

    Returns how it ended: "killed" or "finished".
    """
    env = {**os.environ, "MONITOR_DATA_DIR": str(dirs.root), "MONITOR_STABLE_SECONDS": "0"}
    marker = dirs.root.parent / f"paused-{pause_at}"
    marker.unlink(missing_ok=True)
    if pause_at:
        env.update({"MONITOR_TEST_PAUSE_AT": pause_at, "MONITOR_TEST_PAUSE_FILE": str(marker)})
    proc = subprocess.Popen([sys.executable, "-m", "etl", "ingest"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 180          # a safety net for a hung child, not a speed assertion
        started = time.monotonic()
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out, err = proc.communicate()
                assert proc.returncode == 0, err.decode()[-3000:]
                return "finished"
            if (pause_at and marker.exists()) or (kill_after is not None and time.monotonic() - started >= kill_after):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return "killed"
            time.sleep(0.02)
        raise AssertionError("ingest neither paused nor finished")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def _reference(tmp_path: Path, files) -> tuple[pd.DataFrame, dict]:
    """The same files processed by one undisturbed run."""
    from etl.intake.inbox import process_inbox

    ref = DataDirs(tmp_path / "reference").ensure()
    _drop_all(ref, files)
    outcomes = process_inbox(ref)
    return _dataset(ref), {o.bestand: o.status for o in outcomes}


def _comparable(ds: pd.DataFrame) -> pd.DataFrame:
    return ds.drop(columns=["levering_id"]).sort_values(["periode", "bron", "gebied_type", "gebied_code", "indicator"]) \
             .reset_index(drop=True)


def _final_checks(dirs: DataDirs, files, reference: tuple[pd.DataFrame, dict]) -> None:
    _assert_nothing_lost(dirs, files, finished=True)
    ref_ds, ref_status = reference
    ds = _dataset(dirs)
    pd.testing.assert_frame_equal(_comparable(ds), _comparable(ref_ds))
    con = sqlite3.connect(dirs.db_path)
    # Each accepted content once; every file one receipt; nothing left unsettled.
    rows = con.execute("SELECT sha256, count(*) FROM deliveries WHERE status = 'geaccepteerd' GROUP BY sha256").fetchall()
    assert rows and all(n == 1 for _, n in rows)
    assert con.execute("SELECT count(*) FROM deliveries WHERE afgerond = 0").fetchone()[0] == 0
    receipts = [json.loads(p.read_text(encoding="utf-8")) for p in dirs.outbox.rglob("*.ontvangstbewijs.json")]
    assert sorted(r["bestand"] for r in receipts) == sorted(files)
    assert {r["bestand"]: r["status"] for r in receipts} == ref_status
    # One current delivery per (source, quarter), holding exactly the rows the dataset shows.
    current = con.execute("SELECT bron, periode, count(*) FROM delivery_quarters WHERE actueel = 1 GROUP BY bron, periode").fetchall()
    assert all(n == 1 for *_, n in current)
    assert not ds.duplicated(["periode", "bron", "gebied_type", "gebied_code", "indicator"]).any()
    # Each file was claimed exactly once (a kill between the claim row and the rename is
    # finished by the next run, not claimed again), and every claim has ended.
    claims = con.execute("SELECT inbox_name, settled_at FROM claims").fetchall()
    assert sorted(n for n, _ in claims) == sorted(files)
    assert all(at for _, at in claims)


@pytest.mark.slow
def test_killed_at_every_step_loses_nothing_and_counts_once(tmp_path, kill_files):
    dirs = DataDirs(tmp_path / "data").ensure()
    _drop_all(dirs, kill_files)
    kills = 0
    for point in POINTS * 2:                 # walk files through every step, twice over
        ended = _run_ingest(dirs, pause_at=point)
        kills += ended == "killed"
        _assert_nothing_lost(dirs, kill_files, finished=False)
    assert kills >= len(POINTS)
    assert _run_ingest(dirs) == "finished"
    _final_checks(dirs, kill_files, _reference(tmp_path, kill_files))
    tree, dump = _tree(dirs.root), _dump(dirs)
    assert _run_ingest(dirs) == "finished"      # and a run after that changes nothing
    assert (_tree(dirs.root), _dump(dirs)) == (tree, dump)


@pytest.mark.slow
def test_killed_at_random_moments_loses_nothing(tmp_path, kill_files):
    """No pause points: SIGKILL after random delays, wherever the process happens to be."""
    dirs = DataDirs(tmp_path / "data").ensure()
    _drop_all(dirs, kill_files)
    rng = random.Random(20241010)
    for _ in range(4):
        _run_ingest(dirs, kill_after=rng.uniform(1.0, 8.0))
        _assert_nothing_lost(dirs, kill_files, finished=False)
    assert _run_ingest(dirs) == "finished"
    _final_checks(dirs, kill_files, _reference(tmp_path, kill_files))


def test_a_bug_in_the_analysis_does_not_stop_the_inbox(data_dirs, tmp_path, monkeypatch, caplog):
    """Fault injection: the analysis raises for one file. That file is refused with
    'verwerkingsfout' into the restricted quarantine; the other files of the run are processed;
    the log names the exception type, not its message (which could quote a cell)."""
    import etl.intake.inbox
    from etl.intake.analyse import analyse as real_analyse

    def flaky(path, source, limits=None, org=None):
        if "kapot" in path.name:
            raise ValueError("cel bevat Jan Jansen")
        return real_analyse(path, source, limits, org)

    monkeypatch.setattr(etl.intake.inbox, "analyse", flaky)
    src = _build("baseline_veilig_thuis", tmp_path)
    drop(data_dirs, "veilig_thuis", src, "a_kapot.xlsx")
    drop(data_dirs, "veilig_thuis", _build("baseline_wij", tmp_path), "b_goed.xlsx")
    drop(data_dirs, "wij", _build("baseline_wij", tmp_path), "wij.xlsx")
    outcomes = _process(data_dirs)
    assert [(o.bestand, o.status) for o in outcomes] == [("a_kapot.xlsx", "afgekeurd"), ("b_goed.xlsx", "afgekeurd"),
                                                         ("wij.xlsx", "geaccepteerd")]
    broken = outcomes[0]
    assert broken.problem_codes == ("verwerkingsfout",)
    assert broken.location.parent == data_dirs.restricted / "veilig_thuis"
    text = broken.receipt.read_text(encoding="utf-8")
    assert "ging bij ons iets mis" in text and "WAT MOET U AANPASSEN" not in text
    assert "Jan Jansen" not in caplog.text and "ValueError" in caplog.text

    # After the fix an operator puts the file back: it is analysed again and accepted.
    monkeypatch.setattr(etl.intake.inbox, "analyse", real_analyse)
    back = data_dirs.inbox / "veilig_thuis" / "a_kapot.xlsx"
    os.rename(broken.location, back)
    os.utime(back, (0, 0))
    [again] = _process(data_dirs)
    assert again.status == "geaccepteerd"


# --- parallel analyses --------------------------------------------------------------------------

def test_parallel_analyses_give_what_one_at_a_time_gives(tmp_path):
    """Files analysed two and three at a time are recorded in claim order: the same outcomes,
    the same current deliveries (a correction still supersedes the file before it) and the
    same dataset as one after the other."""
    from etl.intake.inbox import process_inbox

    def run(parallel: int) -> tuple[list[tuple[str, str, str]], pd.DataFrame, list]:
        dirs = DataDirs(tmp_path / f"p{parallel}").ensure()
        _drop_mixed(dirs, tmp_path / f"in{parallel}")
        v2 = tmp_path / f"c{parallel}" / "vt_2024Q3_zz_correctie.xlsx"     # claimed after the others (name order)
        v2.parent.mkdir()
        _corrected_vt(v2)
        drop(dirs, "veilig_thuis", v2)
        outcomes = process_inbox(dirs, parallel=parallel)
        by_id = {o.levering_id: o.bestand for o in outcomes}
        ds = _dataset(dirs)
        ds = ds.assign(bestand=ds.levering_id.map(by_id)).drop(columns=["levering_id"])
        ds = ds.sort_values(list(ds.columns)).reset_index(drop=True)
        con = sqlite3.connect(dirs.db_path)
        chain = sorted((by_id[a], by_id[b]) for a, b in con.execute(
            "SELECT levering_id, vervangen_door FROM delivery_quarters WHERE vervangen_door IS NOT NULL"))
        con.close()
        return sorted((o.bron, o.bestand, str(o.status)) for o in outcomes), ds, chain

    one, ds_one, chain_one = run(1)
    assert ("veilig_thuis", "vt_2024Q3_zz_correctie.xlsx", "geaccepteerd") in one
    assert chain_one and all(new == "vt_2024Q3_zz_correctie.xlsx" for _old, new in chain_one)
    for parallel in (2, 3):
        outcomes, ds, chain = run(parallel)
        assert outcomes == one
        assert chain == chain_one
        pd.testing.assert_frame_equal(ds, ds_one)


def test_a_folder_another_run_holds_is_taken_later_not_waited_for_while_holding_others(data_dirs, tmp_path):
    """Holding one folder, the run does not wait for a second that another run holds (two runs
    waiting for each other's folder would both stall): it finishes what it holds, then waits.

    The other run here lets go only once the first folder's receipt exists: a run that waited
    for the second folder while holding the first would never write it (the test gives up after 60 s)."""
    import threading

    from etl.intake.inbox import inbox_lock, process_inbox

    drop(data_dirs, "vrouwenopvang", _build("baseline_vrouwenopvang", tmp_path))   # the larger file: opened first
    drop(data_dirs, "wij", _build("baseline_wij", tmp_path))
    assert (data_dirs.inbox / folder("vrouwenopvang")).joinpath("vo_2024Q3.xlsx").stat().st_size > \
        next((data_dirs.inbox / folder("wij")).iterdir()).stat().st_size
    held = threading.Event()
    seen: list[bool] = []

    def other_run() -> None:
        with inbox_lock(data_dirs, folder("wij")):
            held.set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not list((data_dirs.outbox / folder("vrouwenopvang")).glob("*.txt")):
                time.sleep(0.1)
            seen.append(bool(list((data_dirs.outbox / folder("vrouwenopvang")).glob("*.txt"))))

    t = threading.Thread(target=other_run)
    t.start()
    assert held.wait(10)
    outcomes = process_inbox(data_dirs, parallel=2)
    t.join()
    assert seen == [True]                                     # the held folder's receipt came while the other was locked
    assert sorted((o.bron, str(o.status)) for o in outcomes) == [("vrouwenopvang", "geaccepteerd"), ("wij", "geaccepteerd")]
