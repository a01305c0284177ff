"""Drop -> receipt latency on the loopback CeleryExecutor stack (issue 16), for bench/run.py.

Starts the production topology of tests/production/topology.py (api-server, scheduler,
dag-processor, Celery worker; the machine's PostgreSQL and Redis, databases prefixed
``perf_``), waits for a first inbox run, then drops ``n`` normal-size partner files one
at a time (each written under a temporary name and renamed, as a file share does) at
an arbitrary moment of the 30-second cycle, and times each until its receipt appears.
Files are dropped one after another so every figure is one partner's wait, not a queue.

Also reads, per file, what the Airflow task instance itself took (``start_date`` to
``end_date`` of the mapped inbox task): the rest of the wait is the stability window
and the schedule.

    .venv/bin/python bench/latency.py --files 20          # by hand; bench/run.py --latency calls measure()
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASK_ID = "verwerk_bron"            # the mapped per-partner task of dags/inbox_verwerking.py
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def measure(n_files: int = 20, stable_seconds: int = 10, redis_db: int = 7, extra_env: dict[str, str] | None = None,
            timeout_per_file: float = 180, idle_seconds: float = 0) -> dict:
    from etl.core.config import DataDirs
    from etl.tools.samples import generate_samples
    from tests.production.topology import Topology, wait_for

    class PerfTopology(Topology):
        @property
        def metadata_db(self) -> str:
            return f"perf_airflow_{self.tag}"

        @property
        def warehouse_db(self) -> str:
            return f"perf_warehouse_{self.tag}"

    work = Path(tempfile.mkdtemp(prefix="perf-latency-"))
    topo = PerfTopology(work, redis_db=redis_db, stable_seconds=stable_seconds)
    topo.env.update(extra_env or {})
    latencies: dict[str, float] = {}
    try:
        sample_set = generate_samples(work / "staging")
        files = sorted(sample_set.files)[:n_files]
        topo.start()
        topo.wait_for_dags(["inbox_verwerking"])
        topo.airflow("dags", "unpause", "inbox_verwerking")
        wait_for(lambda: topo.query("SELECT 1 FROM dag_run WHERE dag_id = 'inbox_verwerking' AND state = 'success'"),
                 180, "a first successful inbox run", interval=1, on_timeout=topo.diagnose)
        idle = _idle_cpu(topo, idle_seconds) if idle_seconds > 0 else None
        dirs = DataDirs(topo.data).ensure()
        rng = random.Random(16)
        for f in files:
            time.sleep(rng.uniform(0, 5))                   # land at an arbitrary moment of the cycle
            inbox = dirs.inbox / sample_set.folder(f)
            tmp = inbox / f".{f.name}.part"
            shutil.copyfile(f, tmp)
            os.replace(tmp, inbox / f.name)
            t = time.time()
            outbox = dirs.outbox / sample_set.folder(f)

            def arrived(name: str = f.name, outbox: Path = outbox) -> bool:
                topo.assert_running()
                for p in outbox.glob("*.ontvangstbewijs.json"):
                    try:
                        if json.loads(p.read_text(encoding="utf-8"))["bestand"] == name:
                            return True
                    except (ValueError, KeyError):
                        continue
                return False

            wait_for(arrived, timeout_per_file, f"a receipt for {f.name}", interval=0.2, on_timeout=topo.diagnose)
            latencies[f.name] = time.time() - t
        durations = [float(r[0]) for r in topo.query(
            "SELECT EXTRACT(EPOCH FROM end_date - start_date) FROM task_instance "
            "WHERE dag_id = 'inbox_verwerking' AND task_id = %s AND end_date IS NOT NULL", (TASK_ID,))]
    finally:
        topo.stop()
        shutil.rmtree(work, ignore_errors=True)
    values = sorted(latencies.values())
    out = {"files": len(values), "stable_seconds": stable_seconds, "p50": statistics.median(values), "max": values[-1],
           "min": values[0], "per_file": latencies,
           "settings": ", ".join(f"{k}={v}" for k, v in (extra_env or {}).items()) or "stack defaults"}
    if durations:
        out["task"] = {"p50 task instance": statistics.median(durations), "max task instance": max(durations)}
    if idle is not None:
        out["idle"] = idle
    return out


def _idle_cpu(topo, seconds: float) -> dict:
    """What the stack costs with an empty inbox: cpu seconds of every stack process and its
    children (task processes included) over ``seconds`` of wall time, per minute."""
    import psutil

    def total() -> float:
        cpu = 0.0
        for proc in topo.procs.values():
            try:
                root = psutil.Process(proc.pid)
                for p in (root, *root.children(recursive=True)):
                    try:
                        t = p.cpu_times()
                        cpu += t.user + t.system + t.children_user + t.children_system
                    except psutil.Error:
                        continue
            except psutil.Error:
                continue
        return cpu

    before, t0 = total(), time.time()
    time.sleep(seconds)
    used, wall = total() - before, time.time() - t0
    return {"seconds": round(wall, 1), "cpu_seconds": round(used, 2), "cpu_seconds_per_minute": round(used * 60 / wall, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--stable-seconds", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=0,
                    help="first measure the stack's cpu with an empty inbox for this long (task processes included)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for every stack process, e.g. MONITOR_INBOX_INTERVAL_SECONDS=10 or "
                         "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=etl.tools.celery_preload.CELERY_CONFIG (repeatable)")
    args = ap.parse_args()
    extra = dict(e.split("=", 1) for e in args.env)
    print(json.dumps(measure(args.files, args.stable_seconds, extra_env=extra, idle_seconds=args.idle_seconds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
