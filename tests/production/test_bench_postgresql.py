"""The national benchmark on the PostgreSQL store: every Veilig Thuis organisation current.

A ``--quick`` run of ``bench/run.py --store postgresql`` (one process, small sizes): the
national quarter is delivered by one Veilig Thuis organisation per municipality group,
each into its own partner folder, on a fresh database of the loopback server. It asserts
the store's state afterwards, never a timing (the full run's figures are in bench/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production.conftest import pg_uri

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.production, pytest.mark.timeout(900)]


def test_national_quarter_on_postgresql_keeps_every_organisation_current(postgres, tmp_path):
    out = tmp_path / "bench-out"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out), "--no-dags",
                           "--no-naive", "--sizes", "national", "--store", "postgresql"],
                          cwd=ROOT, capture_output=True, text=True, timeout=800,
                          env={**os.environ, "MONITOR_BENCH_PG": pg_uri()})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "\nstore: postgresql\n" in proc.stdout, proc.stdout[:400]
    results = json.loads((out / "results-quick.json").read_text())
    check = results["e2e"]["national"]["check"]
    import yaml

    [ref] = (out / "inputs").glob("national-*/reference/organisaties.yaml")    # what the generator configured
    orgs = yaml.safe_load(ref.read_text(encoding="utf-8"))["organisaties"]["veilig_thuis"]
    assert len(orgs) > 10
    # One current delivery per (source, organisation, quarter): no organisation superseded another.
    assert check["organisations"] == {"veilig_thuis": len(orgs), "wij": 1, "vrouwenopvang": 1}
    assert check["current_deliveries"] == len(orgs) + 2
    assert check["duplicate_current"] == 0 and check["duplicate_values"] == 0
    # The run's databases are dropped afterwards.
    import psycopg

    with psycopg.connect(pg_uri(), autocommit=True) as c:
        left = c.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'").fetchall()
    assert left == []
