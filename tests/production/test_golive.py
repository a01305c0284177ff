"""Go-live and an empty quarter (issue 11), with mail to a real SMTP server (aiosmtpd).

Unpausing ``kwartaalrapportage`` runs its latest slot at once. On go-live that slot is
a quarter with no data: it must not announce a workbook as "klaar", and with the
go-live quarter set (Variable ``monitor_first_quarter``) it must not send "Te laat"
mails for a quarter nobody delivered to this monitor. The slow test runs the real DAG
(``airflow dags test`` on SQLite) for the slot of 5 October 2026 (reports 2026Q3).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.core.config import DataDirs
from etl.notify.mail import notify_late_deliveries, notify_report_ready
from tests.production.conftest import CONTACTS

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
NAMES = ("Veilig Thuis Groningen", "WIJ Groningen", "Vrouwenopvang")


def test_an_empty_quarter_is_not_klaar_and_says_what_is_missing(ingested_copy, mail_configured):
    dirs = ingested_copy
    workbook = dirs.reports / "monitor_2026Q3.xlsx"
    assert notify_report_ready("2026Q3", str(workbook), dirs=dirs) == 1
    [m] = mail_configured.snapshot()
    assert m.subject == "Kwartaalrapportage 3e kwartaal 2026: nog geen leveringen, niet klaar"
    assert sorted(m.rcpt_tos) == sorted(CONTACTS["beleid"] + CONTACTS["datateam"])
    for naam in NAMES:
        assert naam in m.body
    assert "geen enkele partner een goedgekeurde levering" in m.body
    # Once: a re-run of the empty quarter sends nothing new.
    assert notify_report_ready("2026Q3", str(workbook), dirs=dirs) == 0
    # A quarter with deliveries is still announced as ready.
    assert notify_report_ready("2024Q4", str(dirs.reports / "monitor_2024Q4.xlsx"), dirs=dirs) == 1
    assert mail_configured.snapshot()[-1].subject == "Kwartaalrapportage 4e kwartaal 2024 staat klaar"


def test_no_lateness_before_the_go_live_quarter(ingested_copy, mail_configured, monkeypatch):
    dirs = ingested_copy
    today = dt.date(2026, 11, 15)
    monkeypatch.setenv("AIRFLOW_VAR_MONITOR_FIRST_QUARTER", "2026Q4")
    assert notify_late_deliveries("2026Q3", today=today, dirs=dirs) == []
    assert mail_configured.snapshot() == []
    # From the go-live quarter on, lateness is mailed as before.
    assert notify_late_deliveries("2026Q4", today=dt.date(2027, 2, 1), dirs=dirs) == list(("veilig_thuis", "wij",
                                                                                           "vrouwenopvang"))
    assert len(mail_configured.snapshot()) == 3
    # Without the setting (an explicit None from a caller outside Airflow) the old quarter is late.
    assert notify_late_deliveries("2026Q3", today=today, dirs=dirs, use_airflow=False) == ["veilig_thuis", "wij",
                                                                                         "vrouwenopvang"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_go_live_run_of_the_quarterly_dag_sends_no_klaar_and_no_late_mail(tmp_path, smtp_server):
    """The real DAG for the slot an unpause on go-live runs (5 Oct 2026 -> 2026Q3), empty store."""
    home, data = tmp_path / "airflow", tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MONITOR_"))}
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.conn_json(),
        "AIRFLOW_VAR_MONITOR_CONTACTS": json.dumps(CONTACTS),
        "AIRFLOW_VAR_MONITOR_FIRST_QUARTER": "2026Q4",
        "MONITOR_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
    })
    home.mkdir()
    for args in ([sys.executable, "-m", "etl", "init"], [AIRFLOW, "db", "migrate"],
                 [AIRFLOW, "dags", "test", "kwartaalrapportage", "2026-10-05T06:00:00+02:00"]):
        proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=500)
        assert proc.returncode == 0, f"{args}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    subjects = [m.subject for m in smtp_server.snapshot()]
    assert not [s for s in subjects if "staat klaar" in s], subjects
    assert not [s for s in subjects if s.startswith("Te laat")], subjects
    assert subjects == ["Kwartaalrapportage 3e kwartaal 2026: nog geen leveringen, niet klaar"]
    assert DataDirs(data).db_path.exists()
