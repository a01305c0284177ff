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


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("3", 3), ("0", None), ("-2", None), ("twee", None)])
def test_analysis_parallel(monkeypatch, value, expected):
    """Unset, empty or nonsense: the usable cores, at most 4; a positive number as given."""
    import os

    from etl.core.config import analysis_parallel

    if value is None:
        monkeypatch.delenv("MONITOR_PARSE_PARALLEL", raising=False)
    else:
        monkeypatch.setenv("MONITOR_PARSE_PARALLEL", value)
    assert analysis_parallel() == (expected or max(1, min(len(os.sched_getaffinity(0)), 4)))
