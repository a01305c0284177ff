"""The warehouse load against the machine's real PostgreSQL.

The warehouse must hold exactly what ``python -m etl dataset --quarter Q`` prints,
replace a superseded delivery's rows in one transaction, and change nothing when run
twice. Each test starts from an empty ``monitor`` schema in the session's own database.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from etl.core.config import DataDirs
from etl.store.dataset import to_csv
from etl.store.db import DATASET_COLUMNS
from etl.store.warehouse import TABLE, load_quarter, load_quarter_from_airflow

ROOT = Path(__file__).resolve().parents[2]

production = pytest.mark.production


@pytest.fixture
def warehouse(warehouse_db):
    """The session database with no ``monitor`` schema: every test loads from scratch."""
    with psycopg.connect(warehouse_db, autocommit=True) as c:
        c.execute("DROP SCHEMA IF EXISTS monitor CASCADE")
    return warehouse_db


def cli_dataset(dirs: DataDirs, quarter: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_DATA_DIR"] = str(dirs.root)
    out = subprocess.run([sys.executable, "-m", "etl", "dataset", "--quarter", quarter], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True)
    return out.stdout


def warehouse_rows(uri: str, quarter: str) -> pd.DataFrame:
    with psycopg.connect(uri) as c:
        cur = c.execute(f"SELECT {', '.join(DATASET_COLUMNS)}, loaded_at FROM {TABLE} WHERE periode = %s "
                        "ORDER BY periode, bron, gebied_type, gebied_code, indicator", (quarter,))
        return pd.DataFrame(cur.fetchall(), columns=[*DATASET_COLUMNS, "loaded_at"])


def warehouse_csv(uri: str, quarter: str) -> str:
    """The warehouse rows printed exactly as the CLI prints the dataset."""
    return to_csv(warehouse_rows(uri, quarter))


def drop_correction(dirs: DataDirs, quarter: str = "2024Q4", seed: int = 777) -> str:
    """Veilig Thuis sends a corrected file for ``quarter`` (other numbers); returns its levering_id."""
    from etl.intake.inbox import process_inbox
    from etl.tools.samples import generate_samples

    staging = dirs.root.parent / "correction"
    files = generate_samples(staging, quarters=[quarter], seed=seed).files
    vt = next(f for f in files if f.parent.name == "veilig_thuis")
    target = dirs.inbox / "veilig_thuis" / f"correctie_{vt.name}"
    shutil.copy2(vt, target)
    os.utime(target, (0, 0))
    outcomes = process_inbox(dirs, sources=("veilig_thuis",))
    assert [o.status for o in outcomes] == ["geaccepteerd"], outcomes
    return outcomes[0].levering_id


@production
def test_warehouse_holds_exactly_the_cli_dataset(warehouse, ingested_samples):
    dirs, _ = ingested_samples
    q4 = load_quarter("2024Q4", warehouse, dirs)
    q3 = load_quarter("2024Q3", warehouse, dirs)
    expected = cli_dataset(dirs, "2024Q4")
    assert warehouse_csv(warehouse, "2024Q4") == expected
    assert warehouse_csv(warehouse, "2024Q3") == cli_dataset(dirs, "2024Q3")
    assert q4.rijen == len(expected.splitlines()) - 1 > 300
    assert q4.geschreven == q4.rijen and q4.verwijderd == 0
    # One delivery per partner folder: WIJ has several organisations, so its folder names one.
    assert set(q4.leveringen) == {"veilig_thuis", "wij/wij-groningen", "vrouwenopvang"}
    assert q3.rijen > 0
    with psycopg.connect(warehouse) as c:
        loaded = c.execute("SELECT bron, organisatie, levering_id, rijen FROM monitor.leveringen "
                           "WHERE periode = '2024Q4' ORDER BY bron").fetchall()
        assert [(b, o) for b, o, _, _ in loaded] == [("veilig_thuis", "veilig-thuis-groningen"),
                                                      ("vrouwenopvang", "vrouwenopvang"), ("wij", "wij-groningen")]
        assert {lid for _, _, lid, _ in loaded} == set(q4.leveringen.values())
        rows = dict(c.execute(f"SELECT levering_id, count(*) FROM {TABLE} WHERE periode = '2024Q4' "
                              "AND herkomst->>'soort' IS DISTINCT FROM 'som_organisaties' GROUP BY levering_id").fetchall())
        assert {lid: n for _, _, lid, n in loaded} == rows
        # The partner-suppressed cell arrives as a NULL with its status, not as 0.
        status = c.execute(f"SELECT waarde, status FROM {TABLE} WHERE periode = '2024Q4' AND gebied_code = 'GM0765' "
                           "AND indicator = 'meldingen_ouderenmishandeling'").fetchone()
        assert status == (None, "suppressed_by_partner")


@production
def test_loading_twice_changes_nothing(warehouse, ingested_samples):
    dirs, _ = ingested_samples
    load_quarter("2024Q4", warehouse, dirs)
    before = warehouse_rows(warehouse, "2024Q4")
    again = load_quarter("2024Q4", warehouse, dirs)
    assert (again.geschreven, again.verwijderd) == (0, 0)
    after = warehouse_rows(warehouse, "2024Q4")
    pd.testing.assert_frame_equal(before, after)      # loaded_at included: not even touched


@production
def test_superseding_delivery_replaces_its_rows(warehouse, ingested_copy):
    first = load_quarter("2024Q4", warehouse, ingested_copy)
    old_vt = first.leveringen["veilig_thuis"]
    other_before = warehouse_rows(warehouse, "2024Q4").query("bron != 'veilig_thuis'")

    new_vt = drop_correction(ingested_copy)
    second = load_quarter("2024Q4", warehouse, ingested_copy)

    assert second.leveringen["veilig_thuis"] == new_vt != old_vt
    assert warehouse_csv(warehouse, "2024Q4") == cli_dataset(ingested_copy, "2024Q4")
    rows = warehouse_rows(warehouse, "2024Q4")
    assert old_vt not in set(rows.levering_id)
    assert set(rows.query("bron == 'veilig_thuis'").levering_id) == {new_vt}
    # Every VT row was rewritten (new levering_id), nothing else was touched.
    assert second.geschreven == len(rows.query("bron == 'veilig_thuis'"))
    pd.testing.assert_frame_equal(rows.query("bron != 'veilig_thuis'").reset_index(drop=True),
                                  other_before.reset_index(drop=True))
    # 2024Q3 of the same partner is another quarter: not loaded, not touched.
    assert warehouse_rows(warehouse, "2024Q3").empty


@production
def test_a_failing_load_leaves_the_previous_quarter_intact(warehouse, ingested_copy):
    """Atomicity, for real: the database refuses the new delivery's rows half-way through."""
    load_quarter("2024Q4", warehouse, ingested_copy)
    before = warehouse_rows(warehouse, "2024Q4")
    new_vt = drop_correction(ingested_copy)
    with psycopg.connect(warehouse, autocommit=True) as c:
        c.execute(f"""
            CREATE FUNCTION monitor.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'refused by test'; END $$;
            CREATE TRIGGER refuse_new BEFORE INSERT OR UPDATE ON {TABLE}
                FOR EACH ROW WHEN (NEW.levering_id = '{new_vt}') EXECUTE FUNCTION monitor.refuse();""")
    with pytest.raises(Exception, match="refused by test"):
        load_quarter("2024Q4", warehouse, ingested_copy)
    pd.testing.assert_frame_equal(warehouse_rows(warehouse, "2024Q4"), before)
    with psycopg.connect(warehouse, autocommit=True) as c:
        c.execute(f"DROP TRIGGER refuse_new ON {TABLE}")
    assert load_quarter("2024Q4", warehouse, ingested_copy).leveringen["veilig_thuis"] == new_vt


@production
def test_concurrent_loads_serialise(warehouse, ingested_samples):
    """Duplicate DAG runs load at the same time into an empty database: no error, one result."""
    dirs, _ = ingested_samples
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda q: load_quarter(q, warehouse, dirs), ["2024Q4", "2024Q4", "2024Q3"]))
    assert results[0].rijen == results[1].rijen
    assert sorted((results[0].geschreven, results[1].geschreven)) == [0, results[0].rijen]
    assert warehouse_csv(warehouse, "2024Q4") == cli_dataset(dirs, "2024Q4")


@production
def test_an_empty_quarter_never_wipes_the_warehouse(warehouse, ingested_samples, tmp_path):
    dirs, _ = ingested_samples
    load_quarter("2024Q4", warehouse, dirs)
    empty = DataDirs(tmp_path / "leeg").ensure()
    result = load_quarter("2024Q4", warehouse, empty)
    assert result.overgeslagen and result.rijen == 0
    assert len(warehouse_rows(warehouse, "2024Q4")) > 300


@production
def test_dag_entry_point_uses_the_airflow_connection(warehouse, ingested_samples, monkeypatch):
    dirs, _ = ingested_samples
    monkeypatch.setenv("MONITOR_DATA_DIR", str(dirs.root))
    monkeypatch.setenv("AIRFLOW_CONN_MONITOR_WAREHOUSE", warehouse)
    rows = load_quarter_from_airflow("2024Q4")
    assert rows == len(warehouse_rows(warehouse, "2024Q4")) > 300


def test_without_connection_the_load_is_skipped_with_a_log_line(ingested_samples, monkeypatch, caplog):
    """The embedded default: no monitor_warehouse connection, nothing loaded, the task succeeds."""
    dirs, _ = ingested_samples
    monkeypatch.setenv("MONITOR_DATA_DIR", str(dirs.root))
    monkeypatch.delenv("AIRFLOW_CONN_MONITOR_WAREHOUSE", raising=False)
    with caplog.at_level(logging.INFO, logger="etl.store.warehouse"):
        assert load_quarter_from_airflow("2024Q4") == 0
    assert "geen Airflow-verbinding 'monitor_warehouse'" in caplog.text


@production
def test_a_warehouse_from_before_organisations_gets_the_wider_key(warehouse, ingested_samples):
    dirs, _ = ingested_samples
    with psycopg.connect(warehouse, autocommit=True) as c:       # the previous version's table
        c.execute("CREATE SCHEMA monitor")
        c.execute("CREATE TABLE monitor.leveringen (periode text NOT NULL, bron text NOT NULL, levering_id text NOT NULL, "
                  "rijen integer NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (periode, bron))")
        c.execute("INSERT INTO monitor.leveringen VALUES ('2024Q4', 'wij', 'oud', 1, now())")
    first = load_quarter("2024Q4", warehouse, dirs)
    with psycopg.connect(warehouse) as c:
        key = [r[0] for r in c.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'monitor.leveringen'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)")]
        rows = c.execute("SELECT bron, organisatie, levering_id FROM monitor.leveringen ORDER BY bron").fetchall()
    assert key == ["periode", "bron", "organisatie"]
    assert "oud" not in {lid for *_, lid in rows} and len(rows) == 3
    assert {lid for *_, lid in rows} == set(first.leveringen.values())
    assert load_quarter("2024Q4", warehouse, dirs).geschreven == 0          # and the next load is a no-op
