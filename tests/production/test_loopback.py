"""The production topology on loopback, end to end.

Real processes, as docker-compose.yaml runs them: ``airflow api-server``, ``scheduler``,
``dag-processor`` and ``celery worker`` (CeleryExecutor), against a fresh PostgreSQL
metadata database, Redis as the broker, a fresh PostgreSQL warehouse and an SMTP server
(aiosmtpd) on loopback. The test drops the sample deliveries for 2024Q3 and 2024Q4 plus
two broken files into the inbox, lets the scheduler's inbox DAG (every 30 s) produce
the receipts, prints the drop -> receipt latency per file (issue 8: a receipt within
60 s of the file becoming stable), then triggers the quarterly DAG for 2024Q4 and
checks receipts, dataset, warehouse, workbook, mails and task logs.

Everything it started is stopped in the fixture's teardown (process groups killed,
databases dropped, the Redis database flushed), whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import folder
from tests.production.conftest import CONTACTS, postgres_reachable, redis_reachable
from tests.production.topology import Topology, wait_for

pytestmark = [pytest.mark.production, pytest.mark.slow, pytest.mark.timeout(900)]

QUARTERS = ["2024Q3", "2024Q4"]
BROKEN = {"sum_of_kinds_wrong": "veilig_thuis", "pii_header_bsn": "wij"}
RECEIPT_TIMEOUT = 240
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def topology(tmp_path_factory, request):
    for reason in (postgres_reachable(), redis_reachable()):
        if reason:
            pytest.skip(f"{reason}; start it with `bash scripts/ensure-services.sh` (.ci/run does this)")
    from aiosmtpd.controller import Controller

    from tests.production.conftest import SmtpServer, _Handler, free_port

    smtp = SmtpServer("127.0.0.1", free_port())
    controller = Controller(_Handler(smtp), hostname=smtp.host, port=smtp.port)
    controller.start()
    work = tmp_path_factory.mktemp("loopback")
    topo = Topology(work, smtp_conn=smtp.conn_json())
    topo.smtp = smtp
    t0 = time.monotonic()
    try:
        topo.start()
        topo.wait_for_dags(["inbox_verwerking", "kwartaalrapportage"])
        yield topo
    except BaseException:
        print(topo.diagnose(60))
        raise
    finally:
        topo.stop()
        controller.stop()
        topo.timings["total"] = time.monotonic() - t0
        report(request.config, "loopback timings (s): " + ", ".join(f"{k}={v:.1f}" for k, v in topo.timings.items()))
        if not request.session.testsfailed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"loopback: kept {work} for inspection (process logs in {topo.logs})")


def report(config, text: str) -> None:
    """Print even when pytest captures output: the measurements belong in the CI log."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(text)


def drop(src: Path, inbox: Path) -> tuple[str, float]:
    """Drop a file the way a file share does it: written under a temporary name, then renamed."""
    tmp = inbox / f".{src.name}.part"
    shutil.copyfile(src, tmp)
    os.replace(tmp, inbox / src.name)
    return src.name, time.time()


def receipts(data: Path) -> dict[str, dict]:
    out = {}
    for p in (data / "outbox").rglob("*.ontvangstbewijs.json"):       # partner folders: <bron>[/<organisatie>]
        try:
            r = json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            continue
        out[r["bestand"]] = {**r, "_path": p}
    return out


@pytest.fixture(scope="module")
def delivered(topology, request):
    """Unpause the inbox DAG, drop the files, and wait for a receipt for each; returns the latencies."""
    from etl.core.config import DataDirs
    from etl.tools.samples import generate_samples
    from tests.fixtures.catalogue import CASES, build_case

    topo = topology
    dirs = DataDirs(topo.data).ensure()
    staging = topo.workdir / "staging"
    samples = generate_samples(staging / "samples", quarters=QUARTERS)
    by_name = {c.name: c for c in CASES}
    broken = [(build_case(by_name[n], staging / "broken" / bron), bron) for n, bron in BROKEN.items()]

    topo.airflow("dags", "unpause", "inbox_verwerking")
    # Measure the steady state ("with the scheduler running"): the first, empty run has
    # finished, so the drop lands at an arbitrary moment of the 30-second cycle.
    t = time.monotonic()
    wait_for(lambda: topo.query("SELECT 1 FROM dag_run WHERE dag_id = 'inbox_verwerking' AND state = 'success'"),
             120, "a first successful inbox run", interval=1, on_timeout=topo.diagnose)
    topo.timings["first_inbox_run"] = time.monotonic() - t
    dropped: dict[str, float] = {}
    for f in samples.files:
        name, t = drop(f, dirs.inbox / samples.folder(f))
        dropped[name] = t
    for f, bron in broken:
        name, t = drop(f, dirs.inbox / folder(bron))
        dropped[name] = t

    seen: dict[str, float] = {}

    def all_receipts() -> bool:
        topo.assert_running()
        now = time.time()
        for name in receipts(topo.data):
            seen.setdefault(name, now)
        return set(dropped) <= set(seen)

    wait_for(all_receipts, RECEIPT_TIMEOUT, f"receipts for {sorted(dropped)}", interval=0.5,
             on_timeout=lambda: f"seen: {sorted(seen)}\n{topo.diagnose()}")
    latency = {n: seen[n] - dropped[n] for n in dropped}
    stable = topo.stable_seconds
    lines = [f"drop -> receipt latency (s); issue 8 asks <= 60 s after the file is stable "
             f"(MONITOR_STABLE_SECONDS={stable}):"]
    lines += [f"  {latency[n]:6.1f}  (after stable: {latency[n] - stable:5.1f})  {n}"
              for n in sorted(latency, key=latency.get)]
    report(request.config, "\n" + "\n".join(lines))
    topo.timings["receipts_max_latency"] = max(latency.values())
    # Wait until the rejection mails of those runs are out (meld_afkeuringen follows verwerk_bron).
    wait_for(lambda: len([m for m in topo.smtp.snapshot() if m.subject.startswith("Niet aangenomen")]) >= len(BROKEN),
             120, "the rejection mails", on_timeout=topo.diagnose)
    return samples, dropped, latency


@pytest.fixture(scope="module")
def quarterly_run(topology, delivered):
    topo = topology
    run_id = "loopback_2024Q4"
    topo.airflow("dags", "unpause", "kwartaalrapportage")
    topo.airflow("dags", "trigger", "kwartaalrapportage", "--run-id", run_id, "--conf", json.dumps({"kwartaal": "2024Q4"}))
    t = time.monotonic()

    def finished() -> str | None:
        topo.assert_running()
        state = topo.dag_run_state("kwartaalrapportage", run_id)
        return state if state in ("success", "failed") else None

    state = wait_for(finished, RUN_TIMEOUT, f"kwartaalrapportage run {run_id}", interval=1,
                     on_timeout=lambda: f"{topo.task_states('kwartaalrapportage', run_id)}\n{topo.diagnose()}")
    topo.timings["quarterly_run"] = time.monotonic() - t
    assert state == "success", f"{topo.task_states('kwartaalrapportage', run_id)}\n{topo.diagnose()}"
    return run_id


def test_every_file_gets_a_receipt_with_the_right_verdict(topology, delivered):
    samples, dropped, latency = delivered
    got = receipts(topology.data)
    for f in samples.files:
        assert got[f.name]["status"] == "geaccepteerd", got[f.name]
    assert got["vt_som.xlsx"]["status"] == "afgekeurd"
    assert got["wij_bsn.xlsx"]["status"] == "afgekeurd" and got["wij_bsn.xlsx"]["persoonsgegevens"] is True
    assert not [p for p in (topology.data / "inbox").rglob("*") if p.is_file()]
    assert len(latency) == len(samples.files) + len(BROKEN)


def test_inbox_runs_were_scheduled_and_executed_by_celery(topology, delivered):
    rows = topology.query("SELECT DISTINCT executor FROM task_instance WHERE dag_id = 'inbox_verwerking' "
                          "AND state = 'success'")
    runs = topology.query("SELECT run_type, state FROM dag_run WHERE dag_id = 'inbox_verwerking'")
    assert {r[0] for r in runs} == {"scheduled"}
    assert all(state in ("success", "running", "queued") for _, state in runs)
    assert rows and all(r[0] in (None, "CeleryExecutor") for r in rows)
    assert "celery" in (topology.logs / "celery-worker.log").read_text(encoding="utf-8", errors="replace").lower()


def test_rejection_mails_reached_the_partners_without_personal_data(topology, delivered):
    from tests.fixtures.catalogue import PLANTED

    mails = topology.smtp.snapshot()
    [vt] = [m for m in mails if m.subject == "Niet aangenomen: vt_som.xlsx (Veilig Thuis Groningen)"]
    assert vt.rcpt_tos == CONTACTS["bronnen"]["veilig_thuis"]
    assert any(n.endswith("vt_som.xlsx.ontvangstbewijs.txt") for n in vt.attachments)
    # Issue 8: the partner's own workbook, marked up, goes along with the receipt.
    copy = receipts(topology.data)["vt_som.xlsx"]["gemarkeerde_kopie"]
    assert copy and copy in vt.attachments and len(vt.attachments) == 2
    assert vt.attachments[copy] == (topology.data / "outbox" / "veilig_thuis" / copy).read_bytes()
    [wij] = [m for m in mails if m.subject == "Niet aangenomen: wij_bsn.xlsx (WIJ Groningen)"]
    assert sorted(wij.rcpt_tos) == sorted(CONTACTS["bronnen"]["wij"])
    assert list(wij.attachments) and all(n.endswith(".ontvangstbewijs.txt") for n in wij.attachments)
    for m in mails:
        for value in PLANTED["pii_header_bsn"]:
            assert value not in m.all_text()


def test_quarterly_run_builds_dataset_workbook_and_warehouse(topology, quarterly_run, request):
    import subprocess
    import sys

    from etl.store.dataset import to_csv
    from etl.store.db import DATASET_COLUMNS

    topo = topology
    states = topo.task_states("kwartaalrapportage", quarterly_run)
    assert set(states.values()) == {"success"}, states
    workbook = topo.data / "reports" / "monitor_2024Q4.xlsx"
    assert workbook.stat().st_size > 5000
    cli = subprocess.run([sys.executable, "-m", "etl", "dataset", "--quarter", "2024Q4"], env=topo.env,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert cli == (topo.data / "store" / "exports" / "dataset_2024Q4.csv").read_text(encoding="utf-8")
    import pandas as pd

    with psycopg.connect(topo.warehouse_uri) as c:
        rows = c.execute(f"SELECT {', '.join(DATASET_COLUMNS)} FROM monitor.dataset WHERE periode = '2024Q4' "
                         "ORDER BY periode, bron, gebied_type, gebied_code, indicator").fetchall()
        per_source = dict(c.execute("SELECT bron, count(*) FROM monitor.dataset GROUP BY bron").fetchall())
    assert to_csv(pd.DataFrame(rows, columns=DATASET_COLUMNS)) == cli
    report(request.config, f"\nwarehouse rows 2024Q4: {len(rows)}; all quarters per source: {per_source}")
    topo.timings["warehouse_rows"] = len(rows)


def test_policy_staff_got_the_report_mail_and_nobody_a_late_mail_for_2024q4(topology, quarterly_run):
    def report_mail():
        return [m for m in topology.smtp.snapshot() if m.subject == "Kwartaalrapportage 4e kwartaal 2024 staat klaar"]

    [m] = wait_for(report_mail, 60, "the report-ready mail")
    assert m.rcpt_tos == CONTACTS["beleid"]
    assert "https://intranet.groningen.test/monitor/rapporten/monitor_2024Q4.xlsx" in m.body
    assert m.attachments == {}
    assert not [x for x in topology.smtp.snapshot() if x.subject.startswith("Te laat") and "4e kwartaal 2024" in x.subject]


def test_task_logs_say_which_file_which_delivery_what_outcome(topology, quarterly_run):
    logs = topology.home / "logs" / "dag_id=inbox_verwerking"
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs.rglob("*.log"))
    assert "vt_som.xlsx" in text and "-> afgekeurd" in text and "-> geaccepteerd" in text
    assert "e-mail afkeuring verstuurd" in text
    q = topology.home / "logs" / f"dag_id=kwartaalrapportage/run_id={quarterly_run}"
    qtext = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in q.rglob("*.log"))
    assert "rapportage over 2024Q4 (parameter kwartaal)" in qtext
    assert "warehouse 2024Q4 geladen" in qtext and "werkmap 2024Q4 geschreven" in qtext
