"""The production process topology on loopback: scheduler, dag-processor, api-server, Celery worker.

The same four Airflow services as docker-compose.yaml, as real processes on this
machine, against the machine's PostgreSQL (a fresh metadata database and a fresh
warehouse database per run) and Redis (one numbered database, flushed before and
after). Every process runs in its own process group, so stopping it stops the task
processes it forked too (field notes: a SIGTERM to the parent alone leaves children).

Used by tests/production/test_loopback.py; also runnable by hand to look around::

    .venv/bin/python -m tests.production.topology      # starts, prints the URL, Ctrl-C stops
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tests.production.conftest import CONTACTS, create_database, drop_database, free_port, pg_uri

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
T = TypeVar("T")

SERVICES = ("api-server", "scheduler", "dag-processor", "celery-worker")


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 0.5,
             on_timeout: Callable[[], str] | None = None) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            extra = on_timeout() if on_timeout else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}\n{extra}")
        time.sleep(interval)


@dataclass
class Topology:
    workdir: Path
    smtp_conn: str | None = None
    redis_db: int = int(os.environ.get("MONITOR_LOOPBACK_REDIS_DB", "14"))
    db_prefix: str = os.environ.get("MONITOR_LOOPBACK_DB_PREFIX", "")
    stable_seconds: int = 5
    worker_concurrency: int = 3
    workers: int = 1                      # >1: more celery worker processes (compose: replicas)
    #: Per service: extra environment and a working directory, to stand in for another host
    #: (its own cwd and TMPDIR, the shared data folder under another mount path).
    host_env: dict[str, dict[str, str]] = field(default_factory=dict)
    host_cwd: dict[str, Path] = field(default_factory=dict)
    #: Extra PostgreSQL databases this topology owns (dropped in stop()), e.g. the store.
    extra_dbs: list[str] = field(default_factory=list)
    tag: str = field(default_factory=lambda: f"{os.getpid()}_{secrets.token_hex(3)}")
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ layout

    @property
    def home(self) -> Path:
        return self.workdir / "airflow"

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def logs(self) -> Path:
        return self.workdir / "process-logs"

    @property
    def metadata_db(self) -> str:
        return f"{self.db_prefix}airflow_loopback_{self.tag}"

    @property
    def warehouse_db(self) -> str:
        return f"{self.db_prefix}monitor_loopback_{self.tag}"

    @property
    def warehouse_uri(self) -> str:
        return pg_uri(self.warehouse_db)

    @property
    def metadata_uri(self) -> str:
        return pg_uri(self.metadata_db)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def __post_init__(self) -> None:
        self.api_port = free_port()
        self.log_server_port = free_port()
        self.env = self._environment()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MONITOR_"))}
        meta = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.metadata_db}"
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            # As docker-compose.yaml: tasks of a killed worker hold executor slots until the heartbeat timeout.
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Amsterdam",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{self.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://postgres@127.0.0.1:5432/{self.metadata_db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_port),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # As docker-compose.yaml (issue 11): a task whose worker died is failed after 90 s, not 300 s.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "90",
            # As docker-compose.yaml (issue 16): GX preloaded in each worker child, the inbox
            # looked at every 10 s.
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "etl.tools.celery_preload.CELERY_CONFIG",
            "MONITOR_INBOX_INTERVAL_SECONDS": "10",
            "AIRFLOW_CONN_MONITOR_WAREHOUSE": self.warehouse_uri,
            "AIRFLOW_VAR_MONITOR_CONTACTS": json.dumps(CONTACTS),
            "MONITOR_DATA_DIR": str(self.data),
            "MONITOR_STABLE_SECONDS": str(self.stable_seconds),
            "MONITOR_REPORTS_URL": "https://intranet.groningen.test/monitor/rapporten",
            "PYTHONPATH": str(ROOT),
        })
        if self.smtp_conn:
            env["AIRFLOW_CONN_SMTP_DEFAULT"] = self.smtp_conn
        return env

    # ------------------------------------------------------------------ running

    def airflow(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([AIRFLOW, *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def start(self) -> None:
        import redis

        t0 = time.monotonic()
        for d in (self.home, self.data, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        create_database(self.metadata_db)
        create_database(self.warehouse_db)
        redis.Redis(host="127.0.0.1", port=6379, db=self.redis_db).flushdb()
        t = time.monotonic()
        self.airflow("db", "migrate", timeout=600)
        self.timings["db_migrate"] = time.monotonic() - t
        for name in self.commands:
            self.spawn(name)
        wait_for(self._api_up, 120, "the api-server to answer /api/v2/version", on_timeout=self.diagnose)
        self.timings["services_up"] = time.monotonic() - t0

    @property
    def commands(self) -> dict[str, list[str]]:
        return {
            "api-server": ["api-server", "--port", str(self.api_port), "--host", "127.0.0.1", "--workers", "1"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            **{f"celery-worker{'' if n == 1 else f'-{n}'}":
               ["celery", "worker", "--concurrency", str(self.worker_concurrency),
                "--celery-hostname", f"loopback-{self.tag}-{n}@%h", "--without-gossip", "--without-mingle"]
               for n in range(1, self.workers + 1)},
        }

    def spawn(self, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start one service in its own process group (again, after kill(): as compose's restart policy does)."""
        old = self.procs.get(name)
        if old is not None and old.stdout:
            old.stdout.close()
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        run_env = {**(env or self.env), **self.host_env.get(name, {})}
        cwd = self.host_cwd.get(name, ROOT)
        self.procs[name] = subprocess.Popen([AIRFLOW, *self.commands[name]], env=run_env, cwd=cwd,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self.procs[name]

    def service_of(self, pid: int) -> str | None:
        """Which service a process (e.g. a task instance's pid) runs under."""
        import psutil

        for name, p in self.procs.items():
            try:
                if pid == p.pid or pid in {c.pid for c in psutil.Process(p.pid).children(recursive=True)}:
                    return name
            except psutil.NoSuchProcess:
                continue
        return None

    def kill(self, name: str) -> None:
        """SIGKILL a service and every process below it, no clean-up: what killing its container does.

        The process group is not enough: Airflow's task supervisor puts each task process
        in a group of its own (setpgid), so a task would outlive a killpg of the worker.
        """
        import psutil

        p = self.procs[name]
        try:
            tree = psutil.Process(p.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        _signal_group(p, signal.SIGKILL)
        for child in tree:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        p.wait(timeout=30)
        psutil.wait_procs(tree, timeout=30)

    def _api_up(self) -> bool:
        self.assert_running()
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/version", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow process(es) exited: {dead}\n{self.diagnose()}")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the metadata database directly (cheaper than an `airflow` CLI call per poll)."""
        import psycopg

        with psycopg.connect(self.metadata_uri, connect_timeout=5) as c:
            return c.execute(sql, params).fetchall()

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 120) -> None:
        def parsed() -> bool:
            self.assert_running()
            rows = self.query("SELECT dag_id FROM serialized_dag WHERE dag_id = ANY(%s)", (dag_ids,))
            return {r[0] for r in rows} == set(dag_ids)

        t = time.monotonic()
        wait_for(parsed, timeout, f"the dag-processor to serialise {dag_ids}", interval=1, on_timeout=self.diagnose)
        self.timings["dags_parsed"] = time.monotonic() - t

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
        return rows[0][0] if rows else None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        rows = self.query("SELECT task_id, map_index, state FROM task_instance WHERE dag_id = %s AND run_id = %s",
                          (dag_id, run_id))
        return {f"{t}[{m}]" if m >= 0 else t: s for t, m, s in rows}

    def diagnose(self, lines: int = 40) -> str:
        out = []
        for name in dict.fromkeys((*SERVICES, *self.procs)):
            p = self.logs / f"{name}.log"
            if p.exists():
                tail = p.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                out.append(f"----- {name} (last {lines} lines) -----\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop every process group (TERM, then KILL), drop both databases, flush the Redis db."""
        for p in self.procs.values():
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():
            _signal_group(p, signal.SIGKILL)    # the group: forked task processes included
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if p.stdout:
                p.stdout.close()
        for db in (self.metadata_db, self.warehouse_db, *self.extra_dbs):
            try:
                drop_database(db)
            except Exception as exc:  # noqa: BLE001 - report, keep cleaning up
                print(f"topology: could not drop database {db}: {exc}", file=sys.stderr)
        try:
            import redis

            redis.Redis(host="127.0.0.1", port=6379, db=self.redis_db).flushdb()
        except Exception as exc:  # noqa: BLE001
            print(f"topology: could not flush Redis db {self.redis_db}: {exc}", file=sys.stderr)


def host_name() -> str:
    """``AIRFLOW__CORE__HOSTNAME_CALLABLE`` for a stand-in host: its name from the environment,
    so the metadata database records which "host" ran each task."""
    import socket

    return os.environ.get("MONITOR_TEST_HOSTNAME") or socket.getfqdn()


def _signal_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)       # start_new_session=True: the group id is the child's pid
    except (ProcessLookupError, PermissionError):
        pass


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def main() -> int:
    import tempfile

    def interrupt(signum, frame):  # SIGTERM (and SIGINT where a shell ignores it) -> clean stop
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    work = Path(tempfile.mkdtemp(prefix="loopback-"))
    topo = Topology(work)
    try:
        topo.start()
        topo.wait_for_dags(["inbox_verwerking", "kwartaalrapportage"])
        print(f"up: {topo.api_url}  AIRFLOW_HOME={topo.home}  data={topo.data}  logs={topo.logs}", flush=True)
        print("Ctrl-C (or SIGTERM to this process) stops everything and drops the databases.", flush=True)
        while True:
            time.sleep(1)
            topo.assert_running()
    except KeyboardInterrupt:
        return 0
    finally:
        topo.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
