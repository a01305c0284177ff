"""The delivery store: every delivery, its dataset rows, and the audit log; SQLite or PostgreSQL.

Why a transactional database: "a corrected file supersedes the earlier delivery for that
quarter" is one transaction that either happens completely or not at all, even if the
process is killed half-way. Every quarter's history stays queryable with plain SQL;
superseded deliveries keep their rows (marked not current) for the audit trail.

Two backends behind one SQL layer (SQLAlchemy Core), chosen by one setting,
``MONITOR_STORE_URL`` (``DataDirs.store_url``):

* SQLite (the default, ``sqlite:///<MONITOR_DATA_DIR>/store/monitor.sqlite``): the embedded
  store of ``make demo`` and most tests; one host, WAL, ``synchronous=FULL``.
* PostgreSQL (``postgresql+psycopg://...``): the production stack, where several worker
  hosts share it; there it is the store of truth and the BI views live beside it.

The tables are described once (``metadata`` below) and created on open on either backend;
queries are portable SQL through ``sqlalchemy.text`` with named parameters, and the one
place where the dialects differ (reading a JSON field) is a small helper. See docs/store.md.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from etl.core.config import DataDirs
from etl.core.status import DeliveryStatus

metadata = sa.MetaData()

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("levering_id", sa.Text, primary_key=True),
    sa.Column("bron", sa.Text, nullable=False),
    sa.Column("organisatie", sa.Text, nullable=False),
    sa.Column("bestandsnaam", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("ontvangen_op", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("persoonsgegevens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("periodes", sa.Text, nullable=False, server_default="[]"),
    sa.Column("problemen", sa.Text, nullable=False, server_default="[]"),
    sa.Column("validatie", sa.Text, nullable=False, server_default="{}"),
    sa.Column("opgeslagen_als", sa.Text),
    sa.Column("afgerond", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("status IN ('geaccepteerd', 'afgekeurd')", name="deliveries_status"),
)

delivery_quarters = sa.Table(
    "delivery_quarters", metadata,
    sa.Column("levering_id", sa.Text, sa.ForeignKey("deliveries.levering_id"), primary_key=True),
    sa.Column("bron", sa.Text, nullable=False),
    sa.Column("organisatie", sa.Text, nullable=False),
    sa.Column("periode", sa.Text, primary_key=True),
    sa.Column("actueel", sa.Integer, nullable=False),
    sa.Column("vervangen_door", sa.Text),
)

dataset_values = sa.Table(
    "dataset_values", metadata,
    sa.Column("levering_id", sa.Text, sa.ForeignKey("deliveries.levering_id"), primary_key=True),
    sa.Column("periode", sa.Text, primary_key=True),
    sa.Column("bron", sa.Text, nullable=False),
    sa.Column("gebied_type", sa.Text, primary_key=True),
    sa.Column("gebied_code", sa.Text, primary_key=True),
    sa.Column("indicator", sa.Text, primary_key=True),
    sa.Column("waarde", sa.Double),          # REAL on SQLite, double precision on PostgreSQL (never float4)
    sa.Column("status", sa.Text, nullable=False),
    sa.CheckConstraint("status IN ('ok', 'suppressed_by_partner', 'missing')", name="dataset_values_status"),
)
sa.Index("values_periode", dataset_values.c.periode, dataset_values.c.bron)

# Where each value came from (etl.intake.provenance, docs/provenance.md). Its own table, so
# that stores made before it get it on open (creating missing tables is the migration; their
# older values simply have no record). Never holds a cell's content.
value_provenance = sa.Table(
    "value_provenance", metadata,
    sa.Column("levering_id", sa.Text, primary_key=True),
    sa.Column("periode", sa.Text, primary_key=True),
    sa.Column("gebied_type", sa.Text, primary_key=True),
    sa.Column("gebied_code", sa.Text, primary_key=True),
    sa.Column("indicator", sa.Text, primary_key=True),
    sa.Column("soort", sa.Text, nullable=False),
    sa.Column("tabblad", sa.Text),
    sa.Column("cel", sa.Text),
    sa.Column("regel", sa.Text),
    sa.Column("rijen", sa.Text),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.CheckConstraint("soort IN ('cel', 'regels', 'som', 'verhouding', 'onbekend', 'geen_regel')",
                       name="value_provenance_soort"),
    sa.ForeignKeyConstraint(
        ["levering_id", "periode", "gebied_type", "gebied_code", "indicator"],
        [dataset_values.c.levering_id, dataset_values.c.periode, dataset_values.c.gebied_type,
         dataset_values.c.gebied_code, dataset_values.c.indicator]),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tijdstip", sa.Text, nullable=False),
    sa.Column("actie", sa.Text, nullable=False),
    sa.Column("bron", sa.Text),
    sa.Column("levering_id", sa.Text),
    sa.Column("sha256", sa.Text),
    sa.Column("bestandsnaam", sa.Text),
    sa.Column("door", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sqlite_autoincrement=True,
)

# Dead-letter counting: one row per claimed file (its name in processing/<bron>/) whose
# analysis was started and has not yet been recorded as a delivery. A row whose attempts
# reach the limit means the processing died that often; the inbox then stops retrying.
claim_attempts = sa.Table(
    "claim_attempts", metadata,
    sa.Column("bron", sa.Text, primary_key=True),
    sa.Column("claimed_name", sa.Text, primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_pid", sa.Integer),
    sa.Column("last_failure", sa.Text),
    sa.Column("first_at", sa.Text, nullable=False),
    sa.Column("last_at", sa.Text, nullable=False),
)

# The claim of a file in the inbox, as a row: who took which file when (``door`` names the
# host and process), and whether its processing has ended. The unique index below makes the
# store the arbiter between hosts: of two runs that see the same file (same folder, name,
# size and mtime), only one can hold an open claim on it, whatever the shared folder's own
# locking does. A settled claim stays as history (the same file may be delivered again later).
claims = sa.Table(
    "claims", metadata,
    sa.Column("folder", sa.Text, primary_key=True),          # partner folder: bron or bron/organisatie
    sa.Column("claimed_name", sa.Text, primary_key=True),    # its name in processing/<folder>/
    sa.Column("inbox_name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("door", sa.Text, nullable=False),
    sa.Column("claimed_at", sa.Text, nullable=False),
    sa.Column("settled_at", sa.Text),
    sa.Column("levering_id", sa.Text),
)

#: Indexes on columns a migration may add: (re)created after ``_migrate`` on every open.
INDEXES = (
    sa.Index("one_open_claim_per_file", claims.c.folder, claims.c.inbox_name, claims.c.size, claims.c.mtime_ns,
             unique=True, sqlite_where=sa.text("settled_at IS NULL"), postgresql_where=sa.text("settled_at IS NULL")),
    sa.Index("deliveries_sha", deliveries.c.bron, deliveries.c.organisatie, deliveries.c.sha256),
    # One current delivery per (source, organisation, quarter): two organisations delivering the
    # same kind of file for the same quarter are both current; a correction replaces its own.
    sa.Index("one_current_delivery_per_organisation", delivery_quarters.c.bron, delivery_quarters.c.organisatie,
             delivery_quarters.c.periode, unique=True,
             sqlite_where=sa.text("actueel = 1"), postgresql_where=sa.text("actueel = 1")),
)

DATASET_COLUMNS = ["periode", "bron", "gebied_type", "gebied_code", "indicator", "waarde", "status", "levering_id"]
#: The setting that chooses the backend (read by ``DataDirs.from_env``).
STORE_URL_ENV = "MONITOR_STORE_URL"
#: Key of the PostgreSQL advisory lock around creating/migrating the schema (any constant
#: works; it only has to be the same in every process that opens the store).
_SCHEMA_LOCK_KEY = 7_311_0015


_PROVENANCE_COLUMNS = ("soort", "tabblad", "cel", "regel", "rijen")


def provenance_row(r) -> dict[str, Any]:
    """The ``value_provenance`` columns (without ``levering_id``) of one tidy row's record;
    whatever the record holds beyond the named columns (parts, numerator, rule operation)
    goes into ``details`` as JSON."""
    rec = r.herkomst
    details = {k: v for k, v in rec.items() if k not in _PROVENANCE_COLUMNS}
    return {"periode": r.periode, "gebied_type": r.gebied_type, "gebied_code": r.gebied_code,
            "indicator": r.indicator, "soort": rec.get("soort", "onbekend"), "tabblad": rec.get("tabblad"),
            "cel": rec.get("cel"), "regel": rec.get("regel"), "rijen": rec.get("rijen"),
            "details": json.dumps(details, ensure_ascii=False, sort_keys=True)}


def actor() -> str:
    """Who did it: the Airflow task if we run in one, else the user and host (for the audit log)."""
    dag = os.environ.get("AIRFLOW_CTX_DAG_ID")
    if dag:
        return f"airflow:{dag}/{os.environ.get('AIRFLOW_CTX_TASK_ID', '?')}/{os.environ.get('AIRFLOW_CTX_DAG_RUN_ID', '?')}"
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Delivery:
    levering_id: str
    bron: str
    organisatie: str
    bestandsnaam: str
    sha256: str
    ontvangen_op: str
    status: str
    persoonsgegevens: bool
    periodes: list[str]
    problemen: list[dict]
    validatie: dict
    opgeslagen_als: str | None
    afgerond: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Delivery:
        return cls(row["levering_id"], row["bron"], row["organisatie"], row["bestandsnaam"], row["sha256"], row["ontvangen_op"],
                   row["status"], bool(row["persoonsgegevens"]), json.loads(row["periodes"]),
                   json.loads(row["problemen"]), json.loads(row["validatie"]), row["opgeslagen_als"],
                   bool(row["afgerond"]))


# --- URLs and engines ------------------------------------------------------------------


def store_url(dirs: DataDirs) -> str:
    """The store of this data directory: ``dirs.store_url`` (``MONITOR_STORE_URL``), else the SQLite file."""
    url = dirs.store_url or f"sqlite:///{dirs.db_path}"
    # A plain postgresql:// URL means psycopg 3 here (SQLAlchemy's default driver would be psycopg2).
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain):]
    return url


def _sqlite_connect(dbapi_conn, _record) -> None:
    """Every SQLite connection: foreign keys on, and a commit is on disk when it returns."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


_ENGINES: dict[tuple[str, int], Engine] = {}


def _engine(url: str) -> Engine:
    """One engine per URL and process (a forked child makes its own: connections do not cross a fork).

    No pool: a ``Store`` holds one connection while it is open and closes it on exit; the
    callers open a store per task or request, so a pool would only keep idle connections
    to a server that several hosts share. Statements run in autocommit mode; ``transaction``
    opens the transactions itself (``BEGIN IMMEDIATE`` on SQLite, so writers queue on the
    busy timeout instead of failing on a lock upgrade).
    """
    key = (url, os.getpid())
    engine = _ENGINES.get(key)
    if engine is None:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT",
                                      connect_args={"timeout": 60})
            sa.event.listen(engine, "connect", _sqlite_connect)
        else:
            engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT",
                                      connect_args={"connect_timeout": 10})
        _ENGINES[key] = engine
    return engine


# --- schema: creation and migration ----------------------------------------------------


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _migrate(conn: Connection, now: str) -> None:
    """Bring a store of an earlier version up to this schema (idempotent; inside the creation transaction).

    Organisations (issue 15): a store from before them has no ``organisatie`` column; its
    deliveries were all made by the source's single organisation, the first one listed in
    ``include/organisaties.yaml``. The column is added and filled in the same transaction,
    and the old one-current-per-(source, quarter) index is replaced by the per-organisation one.
    """
    from etl.core.organisations import original

    missing = [t for t in ("deliveries", "delivery_quarters") if "organisatie" not in _columns(conn, t)]
    if not missing:
        return
    for table in missing:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN organisatie TEXT NOT NULL DEFAULT ''"))
        for (bron,) in conn.execute(sa.text(f"SELECT DISTINCT bron FROM {table}")).all():
            conn.execute(sa.text(f"UPDATE {table} SET organisatie = :org WHERE bron = :bron AND organisatie = ''"),
                         {"org": original(bron).code, "bron": bron})
    conn.execute(sa.text("DROP INDEX IF EXISTS one_current_delivery"))
    conn.execute(sa.text("DROP INDEX IF EXISTS deliveries_sha"))
    conn.execute(sa.text("INSERT INTO audit_log (tijdstip, actie, door, details) VALUES (:t, 'migratie', :door, :details)"),
                 {"t": now, "door": actor(), "details": json.dumps({"naar": "organisaties", "tabellen": missing})})


#: The current value of every (quarter, source, organisation, area, indicator): the store's own
#: answer to "what holds now", as a view, so a BI tool that connects to the store's database
#: (production: the ``monitor`` database, beside the warehouse tables) reads the truth itself
#: and not a copy that can lag behind. ``Store.dataset`` reads it too: one definition.
CURRENT_VIEW = "actuele_waarden"
_CURRENT_VIEW_SQL = f"""
CREATE VIEW {CURRENT_VIEW} AS
SELECT v.periode, v.bron, q.organisatie, v.gebied_type, v.gebied_code, v.indicator, v.waarde, v.status,
       v.levering_id, d.bestandsnaam, d.ontvangen_op
FROM dataset_values v
JOIN delivery_quarters q ON q.levering_id = v.levering_id AND q.periode = v.periode AND q.actueel = 1
JOIN deliveries d ON d.levering_id = v.levering_id
"""


def _create_schema(conn: Connection, now: str) -> None:
    """Missing tables, then migrations, then the indexes on migrated columns, then the view
    (one transaction; the view last, because it names migrated columns)."""
    metadata.create_all(conn, checkfirst=True)
    _migrate(conn, now)
    for index in INDEXES:
        index.create(conn, checkfirst=True)
    if CURRENT_VIEW not in sa.inspect(conn).get_view_names():
        conn.execute(sa.text(_CURRENT_VIEW_SQL))


@contextmanager
def _creation_lock(path: Path) -> Iterator[None]:
    """An exclusive lock (``<store>.lock`` beside the SQLite database) around opening and creating it.

    Why: the first ``PRAGMA journal_mode=WAL`` on a fresh file needs an exclusive SQLite
    lock and does not wait on the busy timeout, so several processes opening a new store
    at once (the mapped inbox tasks of the first run) failed with ``database is locked``.
    Holding this lock while a connection switches the journal mode and creates (or, later,
    migrates) the schema makes that step one-at-a-time; it is released before any work,
    so it serialises only the opening, a few milliseconds. (PostgreSQL: an advisory lock.)
    """
    import fcntl

    with open(path.with_name(path.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Store:
    """The store of one data directory. Open it with ``Store.open(dirs)`` (or ``open_store``).

    ``Store(target)`` takes a ``DataDirs``, a SQLAlchemy URL or the path of a SQLite file
    (the last for tests and tools that hold a bare file).
    """

    def __init__(self, target: DataDirs | str | Path):
        if isinstance(target, DataDirs):
            url = store_url(target)
        elif isinstance(target, Path):
            url = f"sqlite:///{target}"
        else:
            url = store_url(DataDirs(Path("."), target))
        self.engine = _engine(url)
        self.dialect = self.engine.dialect.name          # 'sqlite' | 'postgresql'
        self.path: Path | None = None
        if self.sqlite:
            self.path = Path(self.engine.url.database or "").resolve()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _creation_lock(self.path):
                self.conn = self.engine.connect()
                try:
                    self.conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                    # Schema creation and any migration belong inside this lock.
                    with self.transaction() as conn:
                        _create_schema(conn, now_iso())
                except BaseException:
                    self.conn.close()
                    raise
        else:
            self.conn = self.engine.connect()
            try:
                with self.transaction() as conn:
                    # Two hosts opening a fresh database at once would race on CREATE TABLE.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
                    _create_schema(conn, now_iso())
            except BaseException:
                self.conn.close()
                raise

    @classmethod
    def open(cls, dirs: DataDirs | None = None) -> Store:
        """The store of ``dirs`` (default: the environment's), created or migrated if needed."""
        return cls(dirs or DataDirs.from_env())

    @staticmethod
    def exists(dirs: DataDirs) -> bool:
        """Is there a store to read? (A SQLite file that is not there yet is not created by readers.)"""
        url = sa.make_url(store_url(dirs))
        return url.get_backend_name() != "sqlite" or Path(url.database or "").exists()

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def describe(self) -> str:
        """The backend for log lines and the CLI: never the password."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.conn.close()

    # --- time and serialisation that hold across hosts (issue 15) ----------------------

    def now(self) -> dt.datetime:
        """The store's clock: PostgreSQL's ``now()`` when hosts share it (delivery ids and the
        order of deliveries then come from one clock), the local UTC clock for SQLite (one host)."""
        if self.sqlite:
            return dt.datetime.now(dt.UTC)
        value = self.conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
        return value.astimezone(dt.UTC)

    @contextmanager
    def partner_lock(self, folder: str, timeout: float = 900.0) -> Iterator[None]:
        """One run per partner folder at a time, across hosts: a PostgreSQL session advisory
        lock on this store's connection (released by the server when the holder's connection
        dies, so a killed worker never leaves it held). Waits at most ``timeout`` seconds,
        then raises ``TimeoutError`` naming the folder. SQLite has no such lock (one host):
        there the inbox keeps its ``fcntl`` lock file."""
        if self.sqlite:
            raise RuntimeError("partner_lock is the PostgreSQL store's; the SQLite store uses the inbox lock file")
        key = int.from_bytes(hashlib.sha256(f"monitor-inbox:{folder}".encode()).digest()[:8], "big", signed=True)
        deadline = time.monotonic() + timeout
        while not self.conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
            if time.monotonic() > deadline:
                raise TimeoutError(f"partner folder {folder} still locked by another run after {timeout:.0f} s")
            time.sleep(0.2)
        try:
            yield
        finally:
            self.conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction on this store's connection. SQLite: ``BEGIN IMMEDIATE`` takes the
        write lock at once (a deferred transaction that reads first and then writes can fail
        with ``database is locked`` instead of waiting)."""
        self.conn.exec_driver_sql("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.exec_driver_sql("ROLLBACK")
            raise
        else:
            self.conn.exec_driver_sql("COMMIT")

    # --- the SQL layer: named parameters, rows as mappings -------------------------------

    def rows(self, sql: str, conn: Connection | None = None, **params: Any) -> list[RowMapping]:
        """Every row of a query (``:name`` parameters), each a mapping (``row["col"]``, ``dict(row)``)."""
        return list((conn or self.conn).execute(sa.text(sql), params).mappings())

    def row(self, sql: str, conn: Connection | None = None, **params: Any) -> RowMapping | None:
        return (conn or self.conn).execute(sa.text(sql), params).mappings().first()

    def frame(self, sql: str | sa.TextClause, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return pd.read_sql_query(sa.text(sql) if isinstance(sql, str) else sql, self.conn, params=dict(params or {}))

    def json_field(self, column: str, key: str) -> str:
        """SQL for the text of ``key`` in a JSON text column: the one place the dialects differ."""
        if not key.isidentifier():
            raise ValueError(f"not a JSON key we query: {key!r}")
        if self.sqlite:
            return f"json_extract({column}, '$.{key}')"
        return f"(CAST({column} AS jsonb) ->> '{key}')"

    # --- reads ---------------------------------------------------------------------

    def delivery(self, levering_id: str) -> Delivery | None:
        row = self.row("SELECT * FROM deliveries WHERE levering_id = :lid", lid=levering_id)
        return Delivery.from_row(row) if row else None

    def accepted_with_hash(self, bron: str, organisatie: str, sha256: str) -> Delivery | None:
        """This organisation's earlier accepted delivery of the same bytes (a duplicate).

        Per organisation: the same bytes from another organisation are not its delivery,
        and are analysed (and refused by the coverage check) instead of filed as a copy."""
        row = self.row(
            "SELECT * FROM deliveries WHERE bron = :bron AND organisatie = :org AND sha256 = :sha "
            "AND status = 'geaccepteerd' ORDER BY ontvangen_op, levering_id LIMIT 1", bron=bron, org=organisatie, sha=sha256)
        return Delivery.from_row(row) if row else None

    def superseded_by(self, levering_id: str) -> list[dict[str, str]]:
        """The (periode, levering_id) pairs that this delivery replaced, for its receipt."""
        return [{"periode": r["periode"], "levering_id": r["levering_id"]}
                for r in self.rows("SELECT periode, levering_id FROM delivery_quarters WHERE vervangen_door = :lid "
                                   "ORDER BY periode", lid=levering_id)]

    def has_event(self, actie: str, levering_id: str) -> bool:
        """True once the audit log holds this action for this delivery (reruns log it once)."""
        return self.row("SELECT 1 FROM audit_log WHERE actie = :actie AND levering_id = :lid",
                        actie=actie, lid=levering_id) is not None

    def journal_mode(self) -> str:
        """SQLite's journal mode (``wal``); on PostgreSQL the name of the backend."""
        if self.sqlite:
            return self.conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        return self.dialect

    def mail_sent(self, key: str) -> bool:
        """True once a mail with this idempotency key is in the audit log (sent exactly once)."""
        return self.row(f"SELECT 1 FROM audit_log WHERE actie = 'mail_verstuurd' AND {self.json_field('details', 'sleutel')} = :key "
                        "LIMIT 1", key=key) is not None

    def rejected(self, bron: str) -> list[dict]:
        """Rejected deliveries of a source, newest first: levering_id, ontvangen_op, periodes (a list)."""
        rows = self.rows("SELECT levering_id, ontvangen_op, periodes FROM deliveries WHERE bron = :bron "
                         "AND status = 'afgekeurd' ORDER BY ontvangen_op DESC, levering_id DESC", bron=bron)
        return [{**dict(r), "periodes": json.loads(r["periodes"] or "[]")} for r in rows]

    def unsettled(self, bron: str, organisatie: str) -> list[Delivery]:
        """Recorded deliveries whose file has not been settled yet (a run was killed)."""
        rows = self.rows("SELECT * FROM deliveries WHERE afgerond = 0 AND bron = :bron AND organisatie = :org "
                         "ORDER BY levering_id", bron=bron, org=organisatie)
        return [Delivery.from_row(r) for r in rows]

    def quarter_deliveries(self, periode: str) -> list[dict]:
        """Every delivery that covered ``periode``, current or superseded."""
        rows = self.rows(
            """SELECT q.levering_id, q.bron, q.organisatie, q.periode, q.actueel, q.vervangen_door, d.bestandsnaam,
                      d.sha256, d.ontvangen_op, d.problemen, d.validatie
               FROM delivery_quarters q JOIN deliveries d ON d.levering_id = q.levering_id
               WHERE q.periode = :periode ORDER BY q.bron, q.organisatie, d.ontvangen_op, q.levering_id""", periode=periode)
        return [dict(r) for r in rows]

    def current_quarters(self) -> dict[str, list[str]]:
        """Per source, the quarters with at least one current delivery."""
        out: dict[str, list[str]] = {}
        for r in self.rows("SELECT DISTINCT bron, periode FROM delivery_quarters WHERE actueel = 1 ORDER BY periode, bron"):
            out.setdefault(r["bron"], []).append(r["periode"])
        return out

    def current_organisations(self, periode: str) -> dict[str, list[str]]:
        """Per source, the organisations with a current delivery for ``periode``."""
        out: dict[str, list[str]] = {}
        for r in self.rows("SELECT bron, organisatie FROM delivery_quarters WHERE actueel = 1 AND periode = :periode "
                           "ORDER BY bron, organisatie", periode=periode):
            out.setdefault(r["bron"], []).append(r["organisatie"])
        return out

    def delivery_summaries(self) -> list[dict]:
        """Every delivery without its dataset rows or validation details, oldest first.

        For overviews (the Leveringen page): one cheap query, JSON columns decoded.
        """
        rows = self.rows(
            """SELECT levering_id, bron, organisatie, bestandsnaam, ontvangen_op, status, persoonsgegevens, periodes,
                      problemen, opgeslagen_als, afgerond
               FROM deliveries ORDER BY ontvangen_op, levering_id""")
        out = []
        for r in rows:
            d = dict(r)
            d["persoonsgegevens"] = bool(d["persoonsgegevens"])
            d["afgerond"] = bool(d["afgerond"])
            d["periodes"] = json.loads(d["periodes"])
            d["problemen"] = json.loads(d["problemen"])
            out.append(d)
        return out

    def quarter_links(self) -> list[dict]:
        """Every (delivery, quarter) link of accepted deliveries: current or superseded, and by whom."""
        return [dict(r) for r in self.rows(
            "SELECT levering_id, bron, organisatie, periode, actueel, vervangen_door FROM delivery_quarters "
            "ORDER BY bron, organisatie, periode, levering_id")]

    def dataset(self, periodes: list[str] | None = None) -> pd.DataFrame:
        """The combined dataset: rows of the current delivery for each (source, organisation, quarter)."""
        sql = f"""SELECT periode, bron, gebied_type, gebied_code, indicator, waarde, status, levering_id, organisatie
                  FROM {CURRENT_VIEW}"""
        params: dict[str, Any] = {}
        if periodes:
            sql += " WHERE periode IN :periodes"
            params["periodes"] = list(periodes)
        sql += " ORDER BY periode, bron, organisatie, gebied_type, gebied_code, indicator"
        clause = sa.text(sql)
        if periodes:
            clause = clause.bindparams(sa.bindparam("periodes", expanding=True))
        return self.frame(clause, params)

    def audit(self) -> pd.DataFrame:
        return self.frame("SELECT * FROM audit_log ORDER BY id")

    # --- writes --------------------------------------------------------------------

    def log(self, conn: Connection, actie: str, *, bron=None, levering_id=None, sha256=None,
            bestandsnaam=None, **details) -> None:
        conn.execute(sa.text(
            "INSERT INTO audit_log (tijdstip, actie, bron, levering_id, sha256, bestandsnaam, door, details) "
            "VALUES (:tijdstip, :actie, :bron, :lid, :sha, :naam, :door, :details)"),
            {"tijdstip": now_iso(), "actie": actie, "bron": bron, "lid": levering_id, "sha": sha256,
             "naam": bestandsnaam, "door": actor(), "details": json.dumps(details, ensure_ascii=False, sort_keys=True)})

    def record(self, d: Delivery, values: pd.DataFrame | None) -> list[tuple[str, str]]:
        """Record a processed delivery in one transaction; returns (periode, superseded levering_id).

        For an accepted delivery this inserts its dataset rows and makes it the current
        delivery for each of its quarters, superseding the previous one as a whole.
        """
        superseded: list[tuple[str, str]] = []
        with self.transaction() as conn:
            conn.execute(sa.text(
                """INSERT INTO deliveries (levering_id, bron, organisatie, bestandsnaam, sha256, ontvangen_op, status,
                                           persoonsgegevens, periodes, problemen, validatie, opgeslagen_als, afgerond)
                   VALUES (:levering_id, :bron, :organisatie, :bestandsnaam, :sha256, :ontvangen_op, :status,
                           :persoonsgegevens, :periodes, :problemen, :validatie, :opgeslagen_als, 0)"""),
                {"levering_id": d.levering_id, "bron": d.bron, "organisatie": d.organisatie, "bestandsnaam": d.bestandsnaam,
                 "sha256": d.sha256, "ontvangen_op": d.ontvangen_op, "status": str(d.status),
                 "persoonsgegevens": int(d.persoonsgegevens), "periodes": json.dumps(d.periodes),
                 "problemen": json.dumps(d.problemen, ensure_ascii=False), "validatie": json.dumps(d.validatie),
                 "opgeslagen_als": d.opgeslagen_als})
            if d.status == DeliveryStatus.ACCEPTED:
                for periode in d.periodes:
                    prev = self.row(
                        """SELECT q.levering_id, d.sha256, d.bestandsnaam FROM delivery_quarters q
                           JOIN deliveries d ON d.levering_id = q.levering_id
                           WHERE q.bron = :bron AND q.organisatie = :org AND q.periode = :periode AND q.actueel = 1""",
                        conn, bron=d.bron, org=d.organisatie, periode=periode)
                    if prev:
                        conn.execute(sa.text("UPDATE delivery_quarters SET actueel = 0, vervangen_door = :new "
                                             "WHERE levering_id = :old AND periode = :periode"),
                                     {"new": d.levering_id, "old": prev["levering_id"], "periode": periode})
                        superseded.append((periode, prev["levering_id"]))
                        # One audit row per superseded (source, quarter): both deliveries, both hashes.
                        self.log(conn, "vervangen", bron=d.bron, levering_id=d.levering_id, sha256=d.sha256,
                                 bestandsnaam=d.bestandsnaam, periode=periode, organisatie=d.organisatie, vervangen_levering_id=prev["levering_id"],
                                 vervangen_sha256=prev["sha256"], vervangen_bestandsnaam=prev["bestandsnaam"])
                    conn.execute(sa.text("INSERT INTO delivery_quarters (levering_id, bron, organisatie, periode, actueel) "
                                         "VALUES (:lid, :bron, :org, :periode, 1)"),
                                 {"lid": d.levering_id, "bron": d.bron, "org": d.organisatie, "periode": periode})
                if values is not None and len(values):
                    conn.execute(sa.text(
                        "INSERT INTO dataset_values (levering_id, periode, bron, gebied_type, gebied_code, indicator, waarde, status) "
                        "VALUES (:levering_id, :periode, :bron, :gebied_type, :gebied_code, :indicator, :waarde, :status)"),
                        [{"levering_id": d.levering_id, "periode": r.periode, "bron": r.bron, "gebied_type": r.gebied_type,
                          "gebied_code": r.gebied_code, "indicator": r.indicator,
                          "waarde": None if pd.isna(r.waarde) else float(r.waarde), "status": r.status}
                         for r in values.itertuples(index=False)])
                    if "herkomst" in values:
                        records = [{"levering_id": d.levering_id, **provenance_row(r)}
                                   for r in values.itertuples(index=False) if isinstance(r.herkomst, dict)]
                        if records:
                            conn.execute(sa.text(
                                """INSERT INTO value_provenance (levering_id, periode, gebied_type, gebied_code, indicator,
                                                                 soort, tabblad, cel, regel, rijen, details)
                                   VALUES (:levering_id, :periode, :gebied_type, :gebied_code, :indicator,
                                           :soort, :tabblad, :cel, :regel, :rijen, :details)"""), records)
            self.log(conn, str(DeliveryStatus(d.status)), bron=d.bron,
                     levering_id=d.levering_id, sha256=d.sha256, bestandsnaam=d.bestandsnaam,
                     organisatie=d.organisatie, periodes=d.periodes, vervangen=[{"periode": p, "levering_id": lid} for p, lid in superseded],
                     fouten=sorted({p["code"] for p in d.problemen if p["severity"] == "fout"}))
        return superseded

    def mark_settled(self, levering_id: str, opgeslagen_als: str) -> None:
        with self.transaction() as conn:
            conn.execute(sa.text("UPDATE deliveries SET afgerond = 1, opgeslagen_als = :pad WHERE levering_id = :lid"),
                         {"pad": opgeslagen_als, "lid": levering_id})

    # --- attempts per claimed file (dead-letter) ----------------------------------------
    # Created on open when missing (create_all), so an existing store gains the table on its
    # next open: that is the whole migration, no existing table changes.

    def start_attempt(self, bron: str, claimed_name: str) -> int:
        """Count one more attempt at analysing this claimed file (committed before the work
        starts, so a process killed during the analysis leaves it counted); returns the count."""
        with self.transaction() as conn:
            now = now_iso()
            conn.execute(sa.text(
                """INSERT INTO claim_attempts (bron, claimed_name, attempts, first_at, last_at) VALUES (:bron, :name, 1, :now, :now)
                   ON CONFLICT (bron, claimed_name) DO UPDATE
                   SET attempts = claim_attempts.attempts + 1, last_at = excluded.last_at"""),
                {"bron": bron, "name": claimed_name, "now": now})
            return conn.execute(sa.text("SELECT attempts FROM claim_attempts WHERE bron = :bron AND claimed_name = :name"),
                                {"bron": bron, "name": claimed_name}).scalar_one()

    def attempts(self, bron: str, claimed_name: str) -> dict | None:
        row = self.row("SELECT * FROM claim_attempts WHERE bron = :bron AND claimed_name = :name",
                       bron=bron, name=claimed_name)
        return dict(row) if row else None

    def note_attempt(self, bron: str, claimed_name: str, *, pid: int | None = None, failure: str | None = None) -> None:
        """Remember the child's pid (for operators and the kill test) or how the attempt died."""
        with self.transaction() as conn:
            key = {"bron": bron, "name": claimed_name}
            if pid is not None:
                conn.execute(sa.text("UPDATE claim_attempts SET last_pid = :pid WHERE bron = :bron AND claimed_name = :name"),
                             {**key, "pid": pid})
            if failure is not None:
                conn.execute(sa.text("UPDATE claim_attempts SET last_failure = :f WHERE bron = :bron AND claimed_name = :name"),
                             {**key, "f": failure})

    def finish_attempts(self, bron: str, claimed_name: str) -> None:
        """The claimed file has its delivery record: its attempts are history (the audit log keeps them)."""
        with self.transaction() as conn:
            conn.execute(sa.text("DELETE FROM claim_attempts WHERE bron = :bron AND claimed_name = :name"),
                         {"bron": bron, "name": claimed_name})

    # --- claims of inbox files (etl.intake.inbox.claim) ---------------------------------

    def claim_file(self, folder: str, inbox_name: str, size: int, mtime_ns: int, claimed_name: str,
                   claimed_at: str) -> bool:
        """Take this file: True if this run now holds its one open claim, False if another run
        already does (the unique index ``one_open_claim_per_file`` decided)."""
        try:
            with self.transaction() as conn:
                conn.execute(sa.text(
                    """INSERT INTO claims (folder, claimed_name, inbox_name, size, mtime_ns, door, claimed_at)
                       VALUES (:folder, :claimed, :name, :size, :mtime, :door, :at)"""),
                    {"folder": folder, "claimed": claimed_name, "name": inbox_name, "size": size, "mtime": mtime_ns,
                     "door": f"{actor()}:{os.getpid()}", "at": claimed_at})
        except sa.exc.IntegrityError:
            return False
        return True

    def open_claims(self, folder: str) -> list[dict]:
        """The claims of a partner folder whose processing has not ended, oldest first."""
        return [dict(r) for r in self.rows(
            "SELECT * FROM claims WHERE folder = :folder AND settled_at IS NULL ORDER BY claimed_at, claimed_name",
            folder=folder)]

    def claim(self, folder: str, claimed_name: str) -> dict | None:
        row = self.row("SELECT * FROM claims WHERE folder = :folder AND claimed_name = :name",
                       folder=folder, name=claimed_name)
        return dict(row) if row else None

    def settle_claim(self, folder: str, claimed_name: str, levering_id: str | None) -> None:
        """The claimed file is in its final place with a receipt (or was never taken): the claim ends."""
        with self.transaction() as conn:
            conn.execute(sa.text(
                """UPDATE claims SET settled_at = :at, levering_id = COALESCE(:lid, levering_id)
                   WHERE folder = :folder AND claimed_name = :name AND settled_at IS NULL"""),
                {"at": self.now().isoformat(), "lid": levering_id, "folder": folder, "name": claimed_name})

    def drop_claim(self, folder: str, claimed_name: str) -> None:
        """A claim whose file was gone before the rename (the partner took it back): no trace needed."""
        with self.transaction() as conn:
            conn.execute(sa.text("DELETE FROM claims WHERE folder = :folder AND claimed_name = :name AND settled_at IS NULL"),
                         {"folder": folder, "name": claimed_name})

    def log_event(self, actie: str, **kw) -> None:
        with self.transaction() as conn:
            self.log(conn, actie, **kw)


def open_store(dirs: DataDirs | None = None) -> Store:
    """``Store.open``: the store of ``dirs`` (default: the environment's)."""
    return Store.open(dirs)
