"""Both DAGs in real Airflow emit OpenLineage events naming the partner files and the workbook.

``airflow dags test`` with the provider's file transport (as docs/provenance.md
configures it), on one quarter of sample files; the test reads the transport's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _run(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    from etl.tools.samples import generate_samples

    home = tmp_path_factory.mktemp("airflow_home")
    data = tmp_path_factory.mktemp("monitor") / "data"
    log = home / "openlineage.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MONITOR_", "OPENLINEAGE"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(log), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "monitor",
        "MONITOR_DATA_DIR": str(data),
        "MONITOR_STABLE_SECONDS": "0",
    })
    samples = generate_samples(data / "inbox", quarters=["2024Q4"])
    _run([AIRFLOW, "db", "migrate"], env)
    _run([AIRFLOW, "dags", "test", "inbox_verwerking"], env)
    _run([AIRFLOW, "dags", "test", "kwartaalrapportage", "2025-01-05T06:00:00+01:00"], env)
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()], data, samples


def _complete(evs: list[dict], job: str) -> list[dict]:
    return [e for e in evs if e["eventType"] == "COMPLETE" and e["job"]["name"] == job]


def _names(ds: list[dict]) -> set[str]:
    return {d["name"] for d in ds}


def test_inbox_run_names_each_partner_file_and_what_it_wrote(events):
    evs, data, samples = events
    runs = _complete(evs, "inbox_verwerking.verwerk_bron")
    assert len(runs) == 3                                         # one mapped task per partner
    assert all(e["job"]["namespace"] == "monitor" for e in runs)
    expected = {str(data / "inbox" / samples.folder(f) / f.name) for f in samples.files}
    assert set().union(*(_names(e["inputs"]) for e in runs)) == expected
    for e in runs:
        (inp,) = e["inputs"]                                      # its own partner's file only
        bron = Path(inp["name"]).parent.relative_to(data / "inbox")
        outs = _names(e["outputs"])
        assert str(data / "store" / "monitor.sqlite") in outs
        receipts = [o for o in outs if o.endswith(".ontvangstbewijs.txt")]
        assert len(receipts) == 1 and Path(receipts[0]).parent == data / "outbox" / bron
        assert Path(receipts[0]).exists()
        assert all(d["namespace"] == "file" for d in e["inputs"] + e["outputs"])
    assert _complete(evs, "inbox_verwerking")                     # the DAG run's own event


def test_quarterly_run_names_the_store_export_and_workbook(events):
    evs, data, _ = events
    (werkmap,) = _complete(evs, "kwartaalrapportage.bouw_werkmap")
    assert _names(werkmap["inputs"]) == {str(data / "store" / "monitor.sqlite")}
    assert _names(werkmap["outputs"]) == {str(data / "reports" / "monitor_2024Q4.xlsx")}
    assert (data / "reports" / "monitor_2024Q4.xlsx").exists()
    (dataset,) = _complete(evs, "kwartaalrapportage.bouw_dataset")
    assert _names(dataset["outputs"]) == {str(data / "store" / "exports" / "dataset_2024Q4.csv")}
    assert _complete(evs, "kwartaalrapportage")
