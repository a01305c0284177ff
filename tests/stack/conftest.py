"""The embedded Airflow exactly as `make airflow` runs it (scripts/airflow-run.sh), for tests.

One stack per test session, shared by the back-fill and the browser tests (it costs a
minute or two of the machine's two cores): a temporary AIRFLOW_HOME and
MONITOR_DATA_DIR, free ports on 127.0.0.1, the 24 sample deliveries ingested with the
command line (`python -m etl samples` and `python -m etl ingest`). Commands are run
the way the README tells a data engineer: ``. scripts/airflow-env.sh`` and then
``airflow ...``. At the end the script gets SIGINT (what Ctrl-C sends) and the test
checks that it exited 0 and that no process with this AIRFLOW_HOME is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_with_home(home: Path) -> list[tuple[int, str]]:
    """Every live process whose environment has this AIRFLOW_HOME (what "left behind" means)."""
    needle = f"AIRFLOW_HOME={home}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
            if needle + b"\0" in env + b"\0" and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                found.append((int(pid), Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]))
        except OSError:
            continue
    return found


@dataclass
class Stack:
    home: Path
    data: Path
    port: int
    proc: subprocess.Popen
    log: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def shell(self, command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run ``command`` after sourcing scripts/airflow-env.sh, as the README says."""
        proc = subprocess.run(["bash", "-c", f". scripts/airflow-env.sh && PATH=$PWD/.venv/bin:$PATH && {command}"],
                              env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f"{command} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(f"file:{self.home / 'airflow.db'}?mode=ro", uri=True, timeout=30) as c:
            return c.execute(sql, params).fetchall()

    def password(self, user: str = "admin") -> str:
        return json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())[user]

    def diagnose(self) -> str:
        parts = [self.log.read_text(errors="replace")[-2000:]]
        for p in sorted((self.home / "services").glob("*.log")):
            parts.append(f"----- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-25:]))
        return "\n".join(parts)

    def assert_running(self) -> None:
        assert self.proc.poll() is None, f"scripts/airflow-run.sh exited ({self.proc.returncode}):\n{self.diagnose()}"


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("embedded")
    home, data = base / "airflow_home", base / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MONITOR_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "MONITOR_DATA_DIR": str(data),
        "MONITOR_STABLE_SECONDS": "0",
        "AIRFLOW_PORT": str(port),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW_STOP_GRACE": "20",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    log = base / "airflow-run.log"
    t0 = time.monotonic()
    with open(log, "wb") as out:
        # SIGINT back to its default in the child: a test run started in the background of a
        # non-interactive shell inherits SIGINT ignored, and bash cannot trap a signal that was
        # ignored when it started (the Ctrl-C at the end would then do nothing).
        proc = subprocess.Popen(["bash", "scripts/airflow-run.sh"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stack = Stack(home, data, port, proc, log, env)
    try:
        deadline = time.monotonic() + 300
        while not (home / "services" / "ready").exists():
            stack.assert_running()
            assert time.monotonic() < deadline, f"stack not ready after 300 s\n{stack.diagnose()}"
            time.sleep(1)
        stack.startup_seconds = time.monotonic() - t0
        banner = log.read_text()
        assert f"Airflow UI: http://127.0.0.1:{port}" in banner and f"login: admin / {stack.password()}" in banner
        stack.shell(f'python -m etl samples --out "{data}/inbox" && python -m etl ingest', timeout=600)
        yield stack
    finally:
        stopped = time.monotonic()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)          # Ctrl-C
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        left = []
        for _ in range(20):                           # a killed group disappears within moments
            left = processes_with_home(home)
            if not left:
                break
            time.sleep(0.5)
        for pid, _ in left:                           # never leave them running, even when failing
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        print(f"\nembedded stack: up in {getattr(stack, 'startup_seconds', float('nan')):.0f} s, "
              f"stopped in {time.monotonic() - stopped:.1f} s")
        assert proc.returncode == 0, f"scripts/airflow-run.sh exited {proc.returncode} on Ctrl-C\n{stack.diagnose()}"
        assert "== Stopped" in log.read_text()
        assert not left, f"processes left behind after Ctrl-C: {left}"
