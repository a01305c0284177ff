"""Files that used to stop the inbox: far cells, native crashes, hangs; and messages that fit the file.

Everything is built here by code: far-cell workbooks from the good VT file, renamed CSV/HTML/
SpreadsheetML/SYLK/PDF/BIFF content, odd zip layouts. The crash tests fork real children
and kill them with real signals; the inbox tests run the real ``python -m etl ingest``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from etl.core.config import DataDirs
from tests.conftest import ROOT, drop, folder
from tests.fixtures.catalogue import (
    CASES,
    build_case,
    error_values_only,
    far_cell_vt,
    windows_zip_layout,
)

BY_NAME = {c.name: c for c in CASES}
FAR_CELLS = ["XFD1048576", "GR1048576", "CV200000"]


def _good(name: str, directory: Path) -> Path:
    return build_case(BY_NAME[name], directory / name)


def _refusal(path: Path):
    from etl.intake.safety import FileRefused, check_workbook

    with pytest.raises(FileRefused) as info:
        check_workbook(path)
    return info.value.problem


# --- far cells -----------------------------------------------------------------------------

@pytest.mark.parametrize("ref", FAR_CELLS)
def test_a_cell_far_from_the_data_is_refused_before_any_reader_runs(tmp_path, ref):
    path = tmp_path / f"vt_{ref}.xlsx"
    far_cell_vt(ref)(path)
    p = _refusal(path)
    assert p.code == "cel_ver_buiten_tabel" and p.cells == (ref,) and p.sheet == "Meldingen"
    assert p.message == f"Er staat iets in cel {ref}, ver buiten de tabel. Maak die cel leeg en lever opnieuw aan."


def test_a_lying_dimension_does_not_hide_the_far_cell(tmp_path):
    path = tmp_path / "vt_liar.xlsx"
    far_cell_vt("XFD1048576", dimension="A1:C3")(path)
    assert b'<dimension ref="A1:C3"/>' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    p = _refusal(path)
    assert p.code == "cel_ver_buiten_tabel" and p.cells == ("XFD1048576",)
    assert p.extra["dimension"] == "A1:C3"


def test_a_dimension_that_claims_the_whole_sheet_does_not_refuse_a_small_table(tmp_path):
    """The readers do not trust <dimension>; neither do we: the cells decide, so this file is read."""
    from etl.core.sources import get_source
    from etl.intake.analyse import analyse

    path = tmp_path / "vt_big_dimension.xlsx"
    from tests.fixtures.catalogue import _rezip, _sheet_member

    BY_NAME["baseline_veilig_thuis"].build(path)

    def edit(members):
        import re
        m = _sheet_member(1)
        members[m] = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', members[m])
    path.write_bytes(_rezip(path.read_bytes(), edit))
    assert analyse(path, get_source("veilig_thuis")).accepted


def test_a_stray_cell_near_the_table_is_still_read(tmp_path):
    """A note a few hundred rows down is no reason to refuse: the box stays small."""
    from etl.intake.safety import check_workbook

    path = tmp_path / "vt_note.xlsx"
    far_cell_vt("T500")(path)
    info = check_workbook(path)
    scan = info.scans["Meldingen"]
    assert scan.far_cell == "T500" and scan.max_row == 500 and not scan.too_sparse()


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_the_fast_cell_scan_and_the_general_one_agree(prefix):
    """Excel's ``<c r="..."`` cells take the fast pattern; namespace-prefixed or reference-less
    cells the general one. Both see the same extent and farthest cell, and neither counts a
    style-only self-closing cell."""
    from etl.intake.safety import SheetScan

    c = f"{prefix}c"
    xml = (f'<{prefix}sheetData><{prefix}row r="2"><{c} r="B2" t="s"><v>0</v></{c}><{c} r="Z2" s="3"/></{prefix}row>'
           f'<{prefix}row r="40"><{c} r="D40"><v>7</v></{c}></{prefix}row>'
           f'<{prefix}row r="9000"><{c} r="AA9000" s="1"/></{prefix}row>'
           f'<{prefix}row r="12"><{c} r="C12"><v>1</v></{c}></{prefix}row></{prefix}sheetData>').encode()
    scan = SheetScan()
    scan.scan(xml)
    assert (scan.min_row, scan.max_row, scan.min_col, scan.max_col) == (2, 40, 2, 4)
    assert scan.far_cell == "D40" and scan.far_area == 160

# --- the sandbox ---------------------------------------------------------------------------

def _abort() -> None:
    os.abort()


def _allocate(n: int) -> int:
    return len(bytearray(n))


def _sleep() -> None:
    time.sleep(60)


def _big(n: int) -> bytes:
    return b"x" * n


def _raise() -> None:
    raise ValueError("cel bevat Jan Jansen")


def test_sandbox_turns_crashes_hangs_and_memory_into_reports():
    from etl.intake.sandbox import ChildDied, ChildRaised, SandboxLimits, run_limited

    lim = SandboxLimits(memory_bytes=200 * 2**20, seconds=5, result_bytes=2**20)
    assert run_limited(_allocate, 50 * 2**20, limits=lim)[0] == 50 * 2**20
    with pytest.raises(ChildDied) as died:
        run_limited(_abort, limits=lim)
    assert died.value.kind == "afgebroken" and "SIGABRT" in died.value.detail
    with pytest.raises(ChildDied) as died:
        run_limited(_allocate, 2 * 2**30, limits=lim)          # 2 GB under a 200 MB budget
    assert died.value.kind == "geheugen"
    t = time.monotonic()
    with pytest.raises(ChildDied) as died:
        run_limited(_sleep, limits=SandboxLimits(200 * 2**20, 1.5, 2**20))
    assert died.value.kind == "tijd" and time.monotonic() - t < 10
    with pytest.raises(ProcessLookupError):
        os.kill(died.value.report.pid, 0)                     # killed and reaped: nothing left behind
    with pytest.raises(ChildDied) as died:
        run_limited(_big, 4 * 2**20, limits=lim)              # more than the 1 MB result cap
    assert died.value.kind == "resultaat"
    with pytest.raises(ChildRaised) as raised:
        run_limited(_raise, limits=lim)
    assert raised.value.type_name == "ValueError" and "Jan Jansen" not in str(raised.value) + raised.value.where


def test_fork_overhead_per_file_after_warm_up(tmp_path, capsys):
    """The point of fork: GX and pandas are imported once in the parent; a child costs milliseconds.
    Prints the overhead (trivial child) and one real analysis in and out of a child."""
    from etl.core.sources import get_source
    from etl.intake.analyse import analyse
    from etl.intake.sandbox import run_limited, warm_up

    t = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - t
    n = 20
    t = time.perf_counter()
    for _ in range(n):
        run_limited(len, b"abc")
    overhead = (time.perf_counter() - t) / n
    path = _good("baseline_wij", tmp_path)
    analyse(path, get_source("wij"))                          # first call pays lazy imports
    t = time.perf_counter()
    analyse(path, get_source("wij"))
    inline = time.perf_counter() - t
    t = time.perf_counter()
    result, report = run_limited(analyse, path, get_source("wij"))
    forked = time.perf_counter() - t
    assert result.accepted
    with capsys.disabled():
        print(f"\nwarm-up {warm:.2f} s; fork overhead per file {overhead * 1000:.1f} ms (n={n}); "
              f"WIJ analysis inline {inline:.3f} s, in a child {forked:.3f} s, child peak RSS "
              f"{report.peak_rss_bytes >> 20} MB")
    assert overhead < 0.5


# --- the inbox: far cells beside good files, one `python -m etl ingest` ----------------------

def _ingest(dirs: DataDirs, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[subprocess.CompletedProcess, int]:
    """``python -m etl ingest`` in a wrapper that reports the peak RSS of every process it waited for
    (the ingest process and its forked children), in MB."""
    wrapper = ("import resource, subprocess, sys\n"
               "p = subprocess.run([sys.executable, '-m', 'etl', 'ingest'], capture_output=True, text=True)\n"
               "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
               "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(p.returncode)\n")
    full = {**os.environ, "MONITOR_DATA_DIR": str(dirs.root), "MONITOR_STABLE_SECONDS": "0",
            "PYTHONPATH": str(ROOT), **(env or {})}
    p = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=full, cwd=ROOT,
                       timeout=timeout)
    peak = int(p.stderr.rsplit("PEAK_KB", 1)[1].split()[0]) // 1024
    return p, peak


def _receipts(dirs: DataDirs, bron: str) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((dirs.outbox / folder(bron)).glob("*.ontvangstbewijs.json"))]


def _places(dirs: DataDirs) -> list[Path]:
    out = []
    for top in (dirs.inbox, dirs.processing, dirs.archive, dirs.quarantine, dirs.restricted):
        out += [p for p in top.rglob("*") if p.is_file()]
    return out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_far_cell_files_settle_beside_good_files_in_one_ingest(tmp_path):
    dirs = DataDirs(tmp_path / "data").ensure()
    for ref in FAR_CELLS:
        far_cell_vt(ref)(tmp_path / f"far_{ref}.xlsx")
        drop(dirs, "veilig_thuis", tmp_path / f"far_{ref}.xlsx")
    far_cell_vt("XFD1048576", dimension="A1:C3")(tmp_path / "far_liar.xlsx")
    drop(dirs, "veilig_thuis", tmp_path / "far_liar.xlsx")
    drop(dirs, "wij", _good("baseline_wij", tmp_path))
    drop(dirs, "vrouwenopvang", _good("baseline_vrouwenopvang", tmp_path))
    t = time.monotonic()
    p, peak = _ingest(dirs)
    took = time.monotonic() - t
    print(f"\none ingest of 4 far-cell files + 2 good files: {took:.1f} s, peak RSS of any process {peak} MB")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Traceback" not in p.stdout + p.stderr
    vt = _receipts(dirs, "veilig_thuis")
    assert len(vt) == 4
    assert sorted(r["problemen"][0]["cellen"][0] for r in vt) == sorted(["CV200000", "GR1048576", "XFD1048576", "XFD1048576"])
    assert all(r["status"] == "afgekeurd" and [q["code"] for q in r["problemen"]] == ["cel_ver_buiten_tabel"] for r in vt)
    assert [r["status"] for r in _receipts(dirs, "wij")] == ["geaccepteerd"]
    assert [r["status"] for r in _receipts(dirs, "vrouwenopvang")] == ["geaccepteerd"]
    places = _places(dirs)
    assert len(places) == 6 and not any(p.is_relative_to(dirs.inbox) or p.is_relative_to(dirs.processing) for p in places)
    assert took < 240 and peak < 600


# --- a killed parse is retried once, then dead-lettered ---------------------------------------

def _wait_for_pid(marker: Path, not_pid: int | None, proc: subprocess.Popen, timeout: float = 120) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker.exists():
            text = marker.read_text().strip()
            if text and int(text) != not_pid:
                return int(text)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the child did not start")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_kill_9_of_the_parse_ends_as_verwerkingsfout_on_the_second_attempt(tmp_path):
    dirs = DataDirs(tmp_path / "data").ensure()
    drop(dirs, "veilig_thuis", _good("baseline_veilig_thuis", tmp_path))
    marker = tmp_path / "child.pid"
    env = {**os.environ, "MONITOR_DATA_DIR": str(dirs.root), "MONITOR_STABLE_SECONDS": "0", "PYTHONPATH": str(ROOT),
           "MONITOR_TEST_PAUSE_AT": "in_sandbox", "MONITOR_TEST_PAUSE_FILE": str(marker)}
    proc = subprocess.Popen([sys.executable, "-m", "etl", "ingest"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids = []
        for _attempt in (1, 2):
            pid = _wait_for_pid(marker, pids[-1] if pids else None, proc)
            con = sqlite3.connect(dirs.db_path)
            recorded = con.execute("SELECT attempts, last_pid FROM claim_attempts").fetchall()
            con.close()
            assert recorded == [(_attempt, pid)]          # the store knows the attempt and the child's pid
            os.kill(pid, signal.SIGKILL)
            pids.append(pid)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in out + err
    [receipt] = _receipts(dirs, "veilig_thuis")
    assert receipt["status"] == "afgekeurd" and [p["code"] for p in receipt["problemen"]] == ["verwerkingsfout"]
    assert receipt["problemen"][0]["details"] == {"oorzaak": "signaal", "pogingen": 2}
    text = next((dirs.outbox / "veilig_thuis").glob("*.txt")).read_text(encoding="utf-8")
    assert "Dit bestand kon niet worden gelezen; het team is gewaarschuwd." in text
    [kept] = [p for p in _places(dirs)]
    assert kept.parent == dirs.restricted / "veilig_thuis"          # bytes kept, away from partners
    con = sqlite3.connect(dirs.db_path)
    events = [json.loads(d) for (d,) in con.execute("SELECT details FROM audit_log WHERE actie = 'verwerkingsfout'")]
    left = con.execute("SELECT count(*) FROM claim_attempts").fetchone()[0]
    con.close()
    assert len(events) == 1 and events[0]["pogingen"] == 2 and "SIGKILL" in events[0]["oorzaak"]
    assert left == 0
    assert "verwerkingsfout" in err                                   # ERROR line for the data team


def test_native_out_of_memory_is_a_verwerkingsfout_and_the_next_file_goes_on(tmp_path):
    """A sheet within the far-cell rule whose grid still needs more than a (tiny) memory budget:
    the reader runs out of memory in the child, twice, and the file is refused; the good file
    of the same partner after it is accepted in the same run.

    In a fresh ``python -m etl ingest``: the budget is address space beyond what the parent
    maps, and a long-lived test process has freed heap mapped that a child could reuse."""
    dirs = DataDirs(tmp_path / "data").ensure()
    far_cell_vt("CV19000")(tmp_path / "a_wide.xlsx")          # 100 x 19,000 = 1.9 M cells: allowed box
    drop(dirs, "veilig_thuis", tmp_path / "a_wide.xlsx")
    p, _peak = _ingest(dirs, env={"MONITOR_PARSE_MEMORY_MB": "8"})   # the grid needs more (measured: fits in 16)
    assert p.returncode == 0, p.stderr[-2000:]
    [r] = _receipts(dirs, "veilig_thuis")
    assert (r["bestand"], r["status"], [x["code"] for x in r["problemen"]]) == ("a_wide.xlsx", "afgekeurd", ["verwerkingsfout"])
    drop(dirs, "veilig_thuis", _good("baseline_veilig_thuis", tmp_path))
    p, _peak = _ingest(dirs, env={"MONITOR_PARSE_MEMORY_MB": "1024"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert sorted(r["status"] for r in _receipts(dirs, "veilig_thuis")) == ["afgekeurd", "geaccepteerd"]


def test_a_file_whose_processing_died_twice_is_not_tried_again(data_dirs, tmp_path):
    """The parent itself was killed during the analysis MAX_PROCESS_ATTEMPTS times (the store
    counted them): the next run refuses the file without analysing it. A good file survives a
    few such kills (tests/intake/test_inbox.py kills at random moments and expects acceptance)."""
    import datetime as dt

    from etl.intake.inbox import MAX_PROCESS_ATTEMPTS, claim, process_inbox
    from etl.store.db import Store

    src = drop(data_dirs, "veilig_thuis", _good("baseline_veilig_thuis", tmp_path))
    with Store(data_dirs.db_path) as store:
        claimed = claim(data_dirs, store, src, "veilig_thuis", dt.datetime.now(dt.UTC))
        for _ in range(MAX_PROCESS_ATTEMPTS):
            store.start_attempt("veilig_thuis", claimed.name)
        store.note_attempt("veilig_thuis", claimed.name, failure="signaal: signal 9 (SIGKILL)")
    [o] = process_inbox(data_dirs, sources=("veilig_thuis",))
    assert o.status == "afgekeurd" and o.problem_codes == ("verwerkingsfout",)
    assert o.location.read_bytes() == (tmp_path / "baseline_veilig_thuis" / "vt_2024Q3.xlsx").read_bytes()
    con = sqlite3.connect(data_dirs.db_path)
    [(details,)] = con.execute("SELECT details FROM audit_log WHERE actie = 'verwerkingsfout'").fetchall()
    con.close()
    assert json.loads(details)["oorzaak"] == "signaal: signal 9 (SIGKILL)"      # the team learns how it died


# --- messages that fit the file --------------------------------------------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return buf.getvalue()


RENAMED = {
    "csv": (b"periode;gemeente;adviezen\n2024-Q3;Groningen;12\n", "CSV-bestand"),
    "html": (b"<html><body><table><tr><td>periode</td></tr></table></body></html>", "webpagina (HTML)"),
    "spreadsheetml2003": (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
                          b"<Worksheet/></Workbook>", "Excel 2003"),
    "sylk": (b"ID;PWXL;N;E\r\nC;Y1;X1;K\"periode\"\r\nE\r\n", "SYLK"),
    "fods": (b'<?xml version="1.0"?><office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
             b"</office:document>", ".fods"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF-bestand"),
    "xls": (bytes.fromhex("0904060000001000") + bytes(64), "oud Excel-bestand (.xls"),
    "ods": (_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}), ".ods"),
    "xlsb": (_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x83\x01", "_rels/.rels": b"<Relationships/>"}),
             ".xlsb"),
}


@pytest.mark.parametrize("kind", sorted(RENAMED))
def test_content_renamed_to_xlsx_gets_the_message_for_what_it_is(tmp_path, kind):
    data, words = RENAMED[kind]
    path = tmp_path / "levering.xlsx"
    path.write_bytes(data)
    p = _refusal(path)
    assert p.code == "geen_xlsx" and p.extra["formaat"] == kind
    assert words in p.message and "beschadigd" not in p.message
    assert "Opslaan als" in p.fix or "Exporteer" in p.fix or "'Opslaan als'" in p.fix


def test_a_real_csv_name_with_html_inside_is_called_html(tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes(RENAMED["html"][0])
    assert _refusal(path).extra["formaat"] == "html"


def test_a_zip_with_backslashes_and_lower_case_content_types_is_read(tmp_path):
    from etl.core.sources import get_source
    from etl.intake.analyse import analyse

    path = tmp_path / "vt.xlsx"
    windows_zip_layout(BY_NAME["baseline_veilig_thuis"].build)(path)
    names = zipfile.ZipFile(path).namelist()
    assert "[content_types].xml" in names and "xl\\workbook.xml" in names
    a = analyse(path, get_source("veilig_thuis"))
    assert a.accepted, [p.message for p in a.problems]


def test_a_sheet_of_only_error_values_is_not_called_empty(tmp_path):
    from etl.core.sources import get_source
    from etl.intake.analyse import analyse

    path = tmp_path / "fouten.xlsx"
    error_values_only()(path)
    [p] = analyse(path, get_source("wij")).problems
    assert p.code == "geen_leesbare_waarden"
    assert "tabblad 'Blad1' bevat alleen 3 foutwaarden" in p.message and "geen gegevens" not in p.message


def test_no_marked_up_copy_is_named_in_the_receipt():
    from etl.intake.receipt import Receipt, render_text

    r = Receipt(status="afgekeurd", bron="wij", bron_naam="WIJ Groningen", bestand="x.xlsx",
                ontvangen_op="2024-10-10T09:00:00+00:00", levering_id="wij-1", sha256="0" * 64,
                gemarkeerde_kopie_fout="uw werkmap bevat onderdelen (draaitabellen) die ons programma niet kan overnemen in een kopie.")
    text = render_text(r)
    assert "Een kopie van uw bestand met de punten gemarkeerd konden we niet maken: uw werkmap bevat onderdelen (draaitabellen)" in text
    assert r.to_json()["gemarkeerde_kopie_fout"].startswith("uw werkmap")
