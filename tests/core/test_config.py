"""Settings read from the environment: the inbox interval (and its bounds)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from etl.core.config import inbox_interval_seconds
from tests.conftest import ROOT


@pytest.mark.parametrize(("value", "expected"), [(None, 30), ("10", 10), ("1", 5), ("tien", 30)])
def test_inbox_interval(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("MONITOR_INBOX_INTERVAL_SECONDS", raising=False)
    else:
        monkeypatch.setenv("MONITOR_INBOX_INTERVAL_SECONDS", value)
    assert inbox_interval_seconds() == expected


def test_the_inbox_dag_takes_its_schedule_from_the_setting():
    """Parsed in a fresh process, as the dag-processor does, with the setting in its environment."""
    code = ("import os; os.environ['MONITOR_INBOX_INTERVAL_SECONDS'] = '12'; "
            "from airflow.dag_processing.dagbag import DagBag; "
            "b = DagBag(dag_folder='dags/inbox_verwerking.py'); "
            "print(b.dags['inbox_verwerking'].timetable.delta.total_seconds())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "12.0"
