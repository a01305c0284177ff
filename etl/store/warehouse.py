"""Warehouse load: a copy of the combined dataset in PostgreSQL, for BI tools.

The store (``etl.store.db``) stays the source of truth; in production it is the same
PostgreSQL database, where its view ``actuele_waarden`` is the live answer. The warehouse
is the *published* quarter that BI tools (Power BI, Metabase, plain SQL) can query without
access to the pipeline's disk. It holds exactly the rows ``python -m etl dataset --quarter Q``
prints, in ``monitor.dataset`` (the contract's columns plus ``herkomst`` and ``loaded_at``), and one
row per (quarter, source, organisation) in ``monitor.leveringen`` saying which delivery is loaded.

Why this shape:

* Key = (periode, bron, gebied_type, gebied_code, indicator): one value per cell of
  the dataset, whatever delivery it came from. ``levering_id`` is a column, not part of
  the key, so a BI query never has to pick "the current delivery" itself.
* One transaction per quarter: the quarter's current rows go into a temporary table,
  then rows that are no longer current are deleted (a superseded delivery, a key that
  disappeared) and the current rows are upserted. Readers see the old quarter or the
  new one, never a mix; a crash half-way leaves the old quarter untouched.
* Idempotent: a row whose delivery, value and status did not change is not written
  again (its ``loaded_at`` keeps the time it really arrived), so running the load twice
  changes nothing and reports 0 changes.
* A transaction-scoped advisory lock serialises loads (Airflow can start duplicate
  runs, and a back-fill may run next to a scheduled run) including the
  ``CREATE ... IF NOT EXISTS`` statements, which race without it.
* An empty dataset for the quarter (nothing delivered yet, or a misconfigured data
  directory) never wipes a loaded quarter: the load refuses and logs a warning.

The DAG calls :func:`load_quarter_from_airflow`, which takes the Airflow connection
``monitor_warehouse``; the embedded default has no such connection, and the step is
then skipped with a log line (documented in docs/operations.md).
"""

from __future__ import annotations

import json
import logging
import math
from contextlib import closing
from dataclasses import asdict, dataclass, field
from typing import Any

from etl.core.config import DataDirs
from etl.store.dataset import load

log = logging.getLogger(__name__)

CONN_ID = "monitor_warehouse"
SCHEMA = "monitor"
TABLE = f"{SCHEMA}.dataset"
DELIVERIES_TABLE = f"{SCHEMA}.leveringen"
KEY = ("periode", "bron", "gebied_type", "gebied_code", "indicator")
COLUMNS = ("periode", "bron", "gebied_type", "gebied_code", "indicator", "waarde", "status", "levering_id")
# Any constant works; it only has to be the same in every process that loads.
_LOCK_KEY = 7_311_2024

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {TABLE} (
    periode      text NOT NULL CHECK (periode ~ '^[0-9]{{4}}Q[1-4]$'),
    bron         text NOT NULL,
    gebied_type  text NOT NULL CHECK (gebied_type IN ('gemeente', 'wijk', 'regio')),
    gebied_code  text NOT NULL,
    indicator    text NOT NULL,
    waarde       double precision,
    status       text NOT NULL CHECK (status IN ('ok', 'suppressed_by_partner', 'missing')),
    levering_id  text NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (periode, bron, gebied_type, gebied_code, indicator)
);
COMMENT ON TABLE {TABLE} IS
    'Combined dataset of the Groningen domestic-violence monitor: exact values, current delivery per (periode, bron). Loaded by the kwartaalrapportage DAG; do not edit.';
CREATE INDEX IF NOT EXISTS dataset_levering ON {TABLE} (levering_id);
-- Where the value came from (docs/provenance.md): file name plus the store's provenance
-- record. Added to warehouses made before it by this statement.
ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS herkomst jsonb;
COMMENT ON COLUMN {TABLE}.herkomst IS
    'Provenance: bestandsnaam plus sheet and cell, or rows and rule, or the parts of a total (docs/provenance.md)';
CREATE TABLE IF NOT EXISTS {DELIVERIES_TABLE} (
    periode      text NOT NULL,
    bron         text NOT NULL,
    organisatie  text NOT NULL DEFAULT '',
    levering_id  text NOT NULL,
    rijen        integer NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (periode, bron, organisatie)
);
COMMENT ON TABLE {DELIVERIES_TABLE} IS
    'Which delivery of each (periode, bron, organisatie) is loaded in monitor.dataset, and how many of its rows.';
-- Warehouses made before organisations (issue 15): one row per (periode, bron). The column is
-- added (their rows were the source's single organisation's: '' until the next load rewrites
-- them) and the key widened, once.
ALTER TABLE {DELIVERIES_TABLE} ADD COLUMN IF NOT EXISTS organisatie text NOT NULL DEFAULT '';
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = '{SCHEMA}' AND c.relname = 'leveringen' AND i.indisprimary AND i.indnatts = 2) THEN
        ALTER TABLE {DELIVERIES_TABLE} DROP CONSTRAINT leveringen_pkey;
        ALTER TABLE {DELIVERIES_TABLE} ADD PRIMARY KEY (periode, bron, organisatie);
    END IF;
END $$;
"""

_STAGE = """
CREATE TEMPORARY TABLE monitor_stage ON COMMIT DROP AS
SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x(
    periode text, bron text, gebied_type text, gebied_code text, indicator text,
    waarde double precision, status text, levering_id text, herkomst jsonb, organisatie text)
"""

_DELETE_STALE = f"""
DELETE FROM {TABLE} d
WHERE d.periode = %s
  AND NOT EXISTS (SELECT 1 FROM monitor_stage s
                  WHERE s.periode = d.periode AND s.bron = d.bron AND s.gebied_type = d.gebied_type
                    AND s.gebied_code = d.gebied_code AND s.indicator = d.indicator
                    AND s.levering_id = d.levering_id)
"""

_UPSERT = f"""
INSERT INTO {TABLE} AS d (periode, bron, gebied_type, gebied_code, indicator, waarde, status, levering_id, herkomst,
                          loaded_at)
SELECT periode, bron, gebied_type, gebied_code, indicator, waarde, status, levering_id, herkomst, now()
FROM monitor_stage
ON CONFLICT (periode, bron, gebied_type, gebied_code, indicator) DO UPDATE
SET waarde = EXCLUDED.waarde, status = EXCLUDED.status, levering_id = EXCLUDED.levering_id,
    herkomst = EXCLUDED.herkomst, loaded_at = EXCLUDED.loaded_at
WHERE (d.waarde, d.status, d.levering_id, d.herkomst)
      IS DISTINCT FROM (EXCLUDED.waarde, EXCLUDED.status, EXCLUDED.levering_id, EXCLUDED.herkomst)
"""

# One row per organisation's current delivery; a region total over organisations (organisatie
# empty, its levering_id lists the deliveries in it) belongs to none and is not counted here.
_DELIVERIES = f"""
DELETE FROM {DELIVERIES_TABLE} l
WHERE l.periode = %s AND NOT EXISTS (SELECT 1 FROM monitor_stage s WHERE s.bron = l.bron
                                     AND s.organisatie = l.organisatie AND s.levering_id = l.levering_id);
INSERT INTO {DELIVERIES_TABLE} AS l (periode, bron, organisatie, levering_id, rijen, loaded_at)
SELECT periode, bron, organisatie, min(levering_id), count(*), now() FROM monitor_stage
WHERE organisatie <> ''
GROUP BY periode, bron, organisatie
ON CONFLICT (periode, bron, organisatie) DO UPDATE
SET levering_id = EXCLUDED.levering_id, rijen = EXCLUDED.rijen, loaded_at = EXCLUDED.loaded_at
WHERE (l.levering_id, l.rijen) IS DISTINCT FROM (EXCLUDED.levering_id, EXCLUDED.rijen);
"""


@dataclass
class LoadResult:
    """What a load did; small enough for XCom and the task log."""

    periode: str
    rijen: int = 0                          # rows of the quarter in the warehouse after the load
    geschreven: int = 0                     # rows inserted or changed
    verwijderd: int = 0                     # rows deleted (superseded deliveries, vanished keys)
    # partner folder (bron, or bron/organisatie for a source with several) -> levering_id now loaded
    leveringen: dict[str, str] = field(default_factory=dict)
    overgeslagen: str | None = None         # why nothing was loaded, if so

    def to_dict(self) -> dict:
        return asdict(self)


def ensure_schema(conn: Any) -> None:
    """Create the schema and tables if needed (the load does this itself; for set-up scripts)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        cur.execute(DDL)
    conn.commit()


def _records(df, herkomst: dict | None = None) -> list[dict]:
    """Rows for the stage table; ``herkomst``: key -> (file name, record) of etl.store.provenance."""
    herkomst = herkomst or {}
    note = dict(enumerate(df["toelichting"])) if "toelichting" in df.columns else {}
    orgs = list(df["organisatie"].fillna("")) if "organisatie" in df.columns else [""] * len(df)
    out = []
    for row in df[list(COLUMNS)].itertuples(index=False):
        rec = dict(zip(COLUMNS, row, strict=True))
        rec["organisatie"] = str(orgs[len(out)] or "")
        w = rec["waarde"]
        rec["waarde"] = None if w is None or (isinstance(w, float) and math.isnan(w)) else float(w)
        found = herkomst.get((rec["bron"], rec["gebied_type"], rec["gebied_code"], rec["indicator"]))
        rec["herkomst"] = {"bestandsnaam": found[0], **found[1]} if found else None
        if note.get(len(out)):         # a region total over organisations (etl.store.regions)
            rec["herkomst"] = {"soort": "som_organisaties", "leveringen": rec["levering_id"].split(";"),
                               "toelichting": note[len(out)]}
        out.append(rec)
    return out


def _provenance(periode: str, dirs: DataDirs | None) -> dict:
    """The quarter's provenance records from the SQLite store (empty for a store without them)."""
    from etl.store.db import Store
    from etl.store.provenance import quarter_records

    dirs = dirs or DataDirs.from_env()
    if not Store.exists(dirs):
        return {}
    with Store.open(dirs) as store:
        return quarter_records(store, periode)


def _connect(target: Any) -> tuple[Any, bool]:
    """A DB-API connection for a URI, a SQLAlchemy engine or a connection; (conn, we_own_it)."""
    if isinstance(target, str):
        import psycopg2

        uri = target.replace("postgresql+psycopg2://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")
        return psycopg2.connect(uri), True
    if hasattr(target, "raw_connection"):          # sqlalchemy Engine
        return target.raw_connection(), True
    return target, False


def load_quarter(periode: str, target: Any, dirs: DataDirs | None = None) -> LoadResult:
    """Write the quarter's combined dataset (``etl.store.dataset.load``) to ``monitor.dataset``.

    ``target`` is a PostgreSQL URI, a SQLAlchemy engine or a DB-API connection
    (psycopg2 or psycopg 3, as ``PostgresHook.get_conn()`` returns). Everything happens
    in one transaction on that connection; on any error it is rolled back.
    """

    df = load([periode], dirs)
    result = LoadResult(periode=periode)
    if df.empty:
        result.overgeslagen = "geen gegevens voor dit kwartaal in de store"
        log.warning("warehouse: geen gegevens voor %s in de store (%s); warehouse niet aangeraakt",
                    periode, (dirs or DataDirs.from_env()).db_path)
        return result
    records = _records(df, _provenance(periode, dirs))
    from etl.core.organisations import has_several

    result.leveringen = dict(sorted(
        {(f"{r['bron']}/{r['organisatie']}" if r["organisatie"] and has_several(r["bron"]) else r["bron"], r["levering_id"])
         for r in records if r["organisatie"]}))
    conn, owned = _connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(DDL)
            cur.execute(_STAGE, (json.dumps(records),))
            cur.execute(_DELETE_STALE, (periode,))
            result.verwijderd = max(cur.rowcount, 0)
            cur.execute(_UPSERT)
            result.geschreven = max(cur.rowcount, 0)
            for stmt in filter(None, (s.strip() for s in _DELIVERIES.split(";"))):
                cur.execute(stmt, (periode,) if "%s" in stmt else None)
            cur.execute(f"SELECT count(*) FROM {TABLE} WHERE periode = %s", (periode,))
            row = cur.fetchone()
            result.rijen = int(row[0] if not isinstance(row, dict) else next(iter(row.values())))
        if result.rijen != len(records):     # cannot happen unless someone else writes the table
            raise RuntimeError(f"warehouse {periode}: {result.rijen} rijen na het laden, {len(records)} verwacht")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if owned:
            conn.close()
    for bron, lid in result.leveringen.items():
        log.info("warehouse %s: bron %s = levering %s", periode, bron, lid)
    log.info("warehouse %s geladen: %d rijen (%d geschreven, %d verwijderd)",
             periode, result.rijen, result.geschreven, result.verwijderd)
    return result


def warehouse_configured(conn_id: str = CONN_ID) -> bool:
    """Is the Airflow connection there? (env var AIRFLOW_CONN_..., secrets backend or metadata DB)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def load_quarter_from_airflow(periode: str, conn_id: str = CONN_ID) -> int:
    """The DAG's entry point: load through the Airflow connection, or skip without one.

    Returns the number of rows of the quarter in the warehouse (0 when skipped).
    """
    if not warehouse_configured(conn_id):
        log.info("warehouse: geen Airflow-verbinding '%s' (embedded default); %s niet geladen, stap overgeslagen",
                 conn_id, periode)
        return 0
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    with closing(hook.get_conn()) as conn:
        result = load_quarter(periode, conn)
    return result.rijen
