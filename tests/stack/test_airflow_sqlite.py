"""etl.store.airflow_sqlite: with it, a rolled-back transaction also undoes what a savepoint in it wrote.

Without it (pysqlite's default), releasing the outermost SAVEPOINT commits: the bug that
left half a back-fill in the embedded stack's metadata database. Real Airflow engine, in
a subprocess per setting (the engine is configured once per process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute("CREATE TABLE x (a)")
from airflow import settings
from sqlalchemy import text
from sqlalchemy.orm import Session
s = Session(settings.engine)
s.execute(text("SELECT count(*) FROM x")).fetchall()
with s.begin_nested():
    s.execute(text("INSERT INTO x VALUES (1)"))
s.rollback()
print(c.execute("SELECT count(*) FROM x").fetchone()[0])
"""


@pytest.mark.parametrize("connect_args, rows", [(None, "1"), ("etl.store.airflow_sqlite.CONNECT_ARGS", "0")])
def test_savepoint_is_nested_in_a_real_transaction(tmp_path, connect_args, rows):
    db = tmp_path / "meta.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}?timeout=60",
                "PYTHONPATH": str(ROOT)})
    if connect_args:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] = connect_args
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(db)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == rows
