"""``python -m etl health``: files that wait too long mean receipts have stopped (issue 11).

Real files in a real data directory, the CLI in a subprocess as the compose service
runs it, mail to a real SMTP server (aiosmtpd). Nothing of Airflow runs: that is the
point, the watcher must work when no task can run (tests/production/test_worker_kill.py
shows it against a worker that cannot reach the broker).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from etl.notify.health import stalled, waiting_files
from tests.conftest import folder
from tests.production.conftest import CONTACTS

ROOT = Path(__file__).resolve().parents[2]


def _health(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", "health", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_copied_file_with_an_old_mtime_is_not_old(data_dirs):
    f = data_dirs.inbox / folder("wij") / "oud.xlsx"
    f.write_bytes(b"x")
    os.utime(f, (0, 0))                     # copied with its 1970 modification time preserved
    (data_dirs.inbox / folder("wij") / "~$oud.xlsx").write_bytes(b"lock")     # Excel lock file: ignored
    [w] = waiting_files(data_dirs)
    assert w.name == "oud.xlsx" and w.age_seconds < 60
    assert stalled(data_dirs, minutes=1) == []


def test_health_fails_and_mails_the_data_team_once_per_stall(data_dirs, smtp_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update({"MONITOR_DATA_DIR": str(data_dirs.root), "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.conn_json(),
                "AIRFLOW_VAR_MONITOR_CONTACTS": json.dumps(CONTACTS), "PYTHONPATH": str(ROOT)})
    assert _health(env, "--minutes", "0.25").returncode == 0          # empty inbox: healthy
    (data_dirs.inbox / "veilig_thuis" / "vt_2026Q4.xlsx").write_bytes(b"x")
    (data_dirs.processing / folder("wij")).mkdir(parents=True, exist_ok=True)
    (data_dirs.processing / folder("wij") / "20261202T040000000000Z__wij.xlsx").write_bytes(b"x")
    assert _health(env, "--minutes", "0.25").returncode == 0          # just arrived: healthy
    time.sleep(16)
    first = _health(env, "--minutes", "0.25", "--alert")
    assert first.returncode == 1 and "STALLED: 2 file(s)" in first.stdout
    [m] = smtp_server.snapshot()
    assert m.rcpt_tos == CONTACTS["datateam"]
    assert m.subject == "Ontvangstbewijzen blijven uit: 2 bestand(en) wachten langer dan 0.25 minuten"
    assert "vt_2026Q4.xlsx" in m.body and "Veilig Thuis Groningen" in m.body and "processing/" in m.body
    # The watcher checks again a minute later: the same stall is not mailed twice.
    assert _health(env, "--minutes", "0.25", "--alert").returncode == 1
    assert len(smtp_server.snapshot()) == 1
    # Processed (gone from inbox/ and processing/): healthy again.
    (data_dirs.inbox / "veilig_thuis" / "vt_2026Q4.xlsx").unlink()
    (data_dirs.processing / folder("wij") / "20261202T040000000000Z__wij.xlsx").unlink()
    assert _health(env, "--minutes", "0.25").returncode == 0
