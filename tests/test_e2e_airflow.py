"""End to end in real Airflow on SQLite: sample files -> inbox DAG -> quarterly DAG -> workbook.

Runs `airflow dags test` in subprocesses with their own AIRFLOW_HOME, exactly as the
README's demo does, and checks the results against the sample generator's truth.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory):
    from etl.tools.samples import generate_samples

    home = tmp_path_factory.mktemp("airflow_home")
    data = tmp_path_factory.mktemp("monitor") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MONITOR_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "MONITOR_DATA_DIR": str(data),
        "MONITOR_STABLE_SECONDS": "0",
    })
    samples = generate_samples(data / "inbox")
    _run([AIRFLOW, "db", "migrate"], env)
    _run([AIRFLOW, "dags", "test", "inbox_verwerking"], env)
    _run([AIRFLOW, "dags", "test", "kwartaalrapportage", "2025-01-05T06:00:00+01:00"], env)
    return data, samples, env


def test_every_sample_file_has_a_receipt_and_a_place(airflow_run):
    data, samples, _ = airflow_run
    receipts = sorted((data / "outbox").rglob("*.ontvangstbewijs.json"))     # <bron>[/<organisatie>]
    assert len(receipts) == len(samples.files) >= 24
    archived = [p for p in (data / "archive").rglob("*.xlsx")]
    assert len(archived) == len(samples.files)
    assert not [p for p in (data / "inbox").rglob("*") if p.is_file()]
    assert not [p for p in (data / "processing").rglob("*") if p.is_file()]


def test_quarterly_dag_builds_workbook_and_dataset_for_2024q4(airflow_run):
    data, samples, _ = airflow_run
    assert (data / "reports" / "monitor_2024Q4.xlsx").stat().st_size > 5000
    with open(data / "store" / "exports" / "dataset_2024Q4.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    truth = samples.truth["veilig_thuis/Meldingen"]
    q4 = truth[truth.periode == "2024Q4"]
    region = [r for r in rows if r["bron"] == "veilig_thuis" and r["gebied_type"] == "regio"
              and r["indicator"] == "meldingen_totaal"]
    assert len(region) == 1 and int(region[0]["waarde"]) == int(q4.meldingen_totaal.sum())
    city = [r for r in rows if r["gebied_code"] == "GM0014" and r["indicator"] == "adviezen"]
    assert int(city[0]["waarde"]) == int(q4[q4.gemeente == "GM0014"].adviezen.iloc[0])
    assert {r["periode"] for r in rows} == {"2024Q4"}


def test_dataset_cli_matches_the_dag_export(airflow_run):
    data, _, env = airflow_run
    out = _run([sys.executable, "-m", "etl", "dataset", "--quarter", "2024Q4"], env).stdout
    assert out == (data / "store" / "exports" / "dataset_2024Q4.csv").read_text(encoding="utf-8")


def test_running_both_dags_again_changes_nothing(airflow_run):
    data, _, env = airflow_run
    before = (data / "store" / "exports" / "dataset_2024Q4.csv").read_text(encoding="utf-8")
    files_before = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file() and "store" not in p.parts)
    _run([AIRFLOW, "dags", "test", "inbox_verwerking"], env)
    _run([AIRFLOW, "dags", "test", "kwartaalrapportage", "2025-01-05T06:00:00+01:00"], env)
    assert (data / "store" / "exports" / "dataset_2024Q4.csv").read_text(encoding="utf-8") == before
    files_after = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file() and "store" not in p.parts)
    assert files_after == files_before
