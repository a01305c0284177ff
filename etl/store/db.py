"""The delivery store: every delivery, its dataset rows, and the audit log, in SQLite.

Why SQLite: it is in the standard library, one file on local disk, and transactional,
so "a corrected file supersedes the earlier delivery for that quarter" is one
transaction that either happens completely or not at all, even if the process is
killed half-way. Every quarter's history stays queryable with plain SQL; superseded
deliveries keep their rows (marked not current) for the audit trail. The warehouse
load (PostgreSQL) is a copy of the current rows for BI tools, not the source of truth.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etl.core.status import DeliveryStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    levering_id   TEXT PRIMARY KEY,
    bron          TEXT NOT NULL,
    organisatie   TEXT NOT NULL,
    bestandsnaam  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    ontvangen_op  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('geaccepteerd', 'afgekeurd')),
    persoonsgegevens INTEGER NOT NULL DEFAULT 0,
    periodes      TEXT NOT NULL DEFAULT '[]',
    problemen     TEXT NOT NULL DEFAULT '[]',
    validatie     TEXT NOT NULL DEFAULT '{}',
    opgeslagen_als TEXT,
    afgerond      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS delivery_quarters (
    levering_id    TEXT NOT NULL REFERENCES deliveries (levering_id),
    bron           TEXT NOT NULL,
    organisatie    TEXT NOT NULL,
    periode        TEXT NOT NULL,
    actueel        INTEGER NOT NULL,
    vervangen_door TEXT,
    PRIMARY KEY (levering_id, periode)
);
CREATE TABLE IF NOT EXISTS dataset_values (
    levering_id  TEXT NOT NULL REFERENCES deliveries (levering_id),
    periode      TEXT NOT NULL,
    bron         TEXT NOT NULL,
    gebied_type  TEXT NOT NULL,
    gebied_code  TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    waarde       REAL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'suppressed_by_partner', 'missing')),
    PRIMARY KEY (levering_id, periode, gebied_type, gebied_code, indicator)
);
CREATE INDEX IF NOT EXISTS values_periode ON dataset_values (periode, bron);
-- Where each value came from (etl.intake.provenance, docs/provenance.md). Its own table,
-- so that stores made before it get it on open (CREATE ... IF NOT EXISTS is the
-- migration; their older values simply have no record). Never holds a cell's content.
CREATE TABLE IF NOT EXISTS value_provenance (
    levering_id  TEXT NOT NULL,
    periode      TEXT NOT NULL,
    gebied_type  TEXT NOT NULL,
    gebied_code  TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    soort        TEXT NOT NULL CHECK (soort IN ('cel', 'regels', 'som', 'verhouding', 'onbekend', 'geen_regel')),
    tabblad      TEXT,
    cel          TEXT,
    regel        TEXT,
    rijen        TEXT,
    details      TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (levering_id, periode, gebied_type, gebied_code, indicator),
    FOREIGN KEY (levering_id, periode, gebied_type, gebied_code, indicator)
        REFERENCES dataset_values (levering_id, periode, gebied_type, gebied_code, indicator)
);
CREATE TABLE IF NOT EXISTS audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tijdstip     TEXT NOT NULL,
    actie        TEXT NOT NULL,
    bron         TEXT,
    levering_id  TEXT,
    sha256       TEXT,
    bestandsnaam TEXT,
    door         TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}'
);
-- Dead-letter counting: one row per claimed file (its name in processing/<bron>/) whose
-- analysis was started and has not yet been recorded as a delivery. A row whose attempts
-- reach the limit means the processing died that often; the inbox then stops retrying.
CREATE TABLE IF NOT EXISTS claim_attempts (
    bron         TEXT NOT NULL,
    claimed_name TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_pid     INTEGER,
    last_failure TEXT,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    PRIMARY KEY (bron, claimed_name)
);
"""

#: Indexes on columns a migration may add: created after ``_migrate``.
INDEXES = """
CREATE INDEX IF NOT EXISTS deliveries_sha ON deliveries (bron, organisatie, sha256);
-- One current delivery per (source, organisation, quarter): two organisations delivering the
-- same kind of file for the same quarter are both current; a correction replaces its own.
CREATE UNIQUE INDEX IF NOT EXISTS one_current_delivery_per_organisation
    ON delivery_quarters (bron, organisatie, periode) WHERE actueel = 1;
"""

DATASET_COLUMNS = ["periode", "bron", "gebied_type", "gebied_code", "indicator", "waarde", "status", "levering_id"]


_PROVENANCE_COLUMNS = ("soort", "tabblad", "cel", "regel", "rijen")


def provenance_row(r) -> tuple:
    """(periode, key..., soort, tabblad, cel, regel, rijen, details) of one tidy row's record;
    whatever the record holds beyond the named columns (parts, numerator, rule operation)
    goes into ``details`` as JSON."""
    rec = r.herkomst
    details = {k: v for k, v in rec.items() if k not in _PROVENANCE_COLUMNS}
    return (r.periode, r.gebied_type, r.gebied_code, r.indicator, rec.get("soort", "onbekend"), rec.get("tabblad"),
            rec.get("cel"), rec.get("regel"), rec.get("rijen"), json.dumps(details, ensure_ascii=False, sort_keys=True))


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
    def from_row(cls, row: sqlite3.Row) -> Delivery:
        return cls(row["levering_id"], row["bron"], row["organisatie"], row["bestandsnaam"], row["sha256"], row["ontvangen_op"],
                   row["status"], bool(row["persoonsgegevens"]), json.loads(row["periodes"]),
                   json.loads(row["problemen"]), json.loads(row["validatie"]), row["opgeslagen_als"],
                   bool(row["afgerond"]))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a store of an earlier version up to this schema (idempotent; inside the creation lock).

    Organisations (issue 15): a store from before them has no ``organisatie`` column; its
    deliveries were all made by the source's single organisation, the first one listed in
    ``include/organisaties.yaml``. The column is added and filled in one transaction, and
    the old one-current-per-(source, quarter) index is replaced by the per-organisation one.
    """
    from etl.core.organisations import original

    missing = [t for t in ("deliveries", "delivery_quarters") if "organisatie" not in _columns(conn, t)]
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in missing:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN organisatie TEXT NOT NULL DEFAULT ''")
            for (bron,) in conn.execute(f"SELECT DISTINCT bron FROM {table}").fetchall():
                conn.execute(f"UPDATE {table} SET organisatie = ? WHERE bron = ? AND organisatie = ''",
                             (original(bron).code, bron))
        conn.execute("DROP INDEX IF EXISTS one_current_delivery")
        conn.execute("DROP INDEX IF EXISTS deliveries_sha")
        conn.execute(
            "INSERT INTO audit_log (tijdstip, actie, door, details) VALUES (?, 'migratie', ?, ?)",
            (now_iso(), actor(), json.dumps({"naar": "organisaties", "tabellen": missing})))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def _creation_lock(path: Path) -> Iterator[None]:
    """An exclusive lock (``<store>.lock`` beside the database) around opening and creating it.

    Why: the first ``PRAGMA journal_mode=WAL`` on a fresh file needs an exclusive SQLite
    lock and does not wait on the busy timeout, so several processes opening a new store
    at once (the mapped inbox tasks of the first run) failed with ``database is locked``.
    Holding this lock while a connection switches the journal mode and creates (or, later,
    migrates) the schema makes that step one-at-a-time; it is released before any work,
    so it serialises only the opening, a few milliseconds.
    """
    import fcntl

    with open(path.with_name(path.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Store:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        with _creation_lock(path):
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Schema creation and any migration belong inside this lock.
            self.conn.executescript(SCHEMA)
            _migrate(self.conn)
            self.conn.executescript(INDEXES)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # --- reads ---------------------------------------------------------------------

    def delivery(self, levering_id: str) -> Delivery | None:
        row = self.conn.execute("SELECT * FROM deliveries WHERE levering_id = ?", (levering_id,)).fetchone()
        return Delivery.from_row(row) if row else None

    def accepted_with_hash(self, bron: str, organisatie: str, sha256: str) -> Delivery | None:
        """This organisation's earlier accepted delivery of the same bytes (a duplicate).

        Per organisation: the same bytes from another organisation are not its delivery,
        and are analysed (and refused by the coverage check) instead of filed as a copy."""
        row = self.conn.execute(
            "SELECT * FROM deliveries WHERE bron = ? AND organisatie = ? AND sha256 = ? AND status = 'geaccepteerd' "
            "ORDER BY ontvangen_op LIMIT 1", (bron, organisatie, sha256)).fetchone()
        return Delivery.from_row(row) if row else None

    def superseded_by(self, levering_id: str) -> list[dict[str, str]]:
        """The (periode, levering_id) pairs that this delivery replaced, for its receipt."""
        return [{"periode": r["periode"], "levering_id": r["levering_id"]}
                for r in self.conn.execute(
                    "SELECT periode, levering_id FROM delivery_quarters WHERE vervangen_door = ? ORDER BY periode",
                    (levering_id,))]

    def has_event(self, actie: str, levering_id: str) -> bool:
        """True once the audit log holds this action for this delivery (reruns log it once)."""
        return self.conn.execute("SELECT 1 FROM audit_log WHERE actie = ? AND levering_id = ?",
                                 (actie, levering_id)).fetchone() is not None

    def journal_mode(self) -> str:
        return self.conn.execute("PRAGMA journal_mode").fetchone()[0]

    def mail_sent(self, key: str) -> bool:
        """True once a mail with this idempotency key is in the audit log (sent exactly once)."""
        return self.conn.execute(
            "SELECT 1 FROM audit_log WHERE actie = 'mail_verstuurd' AND json_extract(details, '$.sleutel') = ? LIMIT 1",
            (key,)).fetchone() is not None

    def rejected(self, bron: str) -> list[dict]:
        """Rejected deliveries of a source, newest first: levering_id, ontvangen_op, periodes (a list)."""
        rows = self.conn.execute(
            "SELECT levering_id, ontvangen_op, periodes FROM deliveries WHERE bron = ? AND status = 'afgekeurd' "
            "ORDER BY ontvangen_op DESC", (bron,)).fetchall()
        return [{**dict(r), "periodes": json.loads(r["periodes"] or "[]")} for r in rows]

    def unsettled(self, bron: str, organisatie: str) -> list[Delivery]:
        """Recorded deliveries whose file has not been settled yet (a run was killed)."""
        rows = self.conn.execute(
            "SELECT * FROM deliveries WHERE afgerond = 0 AND bron = ? AND organisatie = ? ORDER BY levering_id",
            (bron, organisatie)).fetchall()
        return [Delivery.from_row(r) for r in rows]

    def quarter_deliveries(self, periode: str) -> list[dict]:
        """Every delivery that covered ``periode``, current or superseded."""
        rows = self.conn.execute(
            """SELECT q.levering_id, q.bron, q.organisatie, q.periode, q.actueel, q.vervangen_door, d.bestandsnaam,
                      d.sha256, d.ontvangen_op, d.problemen, d.validatie
               FROM delivery_quarters q JOIN deliveries d USING (levering_id)
               WHERE q.periode = ? ORDER BY q.bron, q.organisatie, d.ontvangen_op""", (periode,))
        return [dict(r) for r in rows]

    def current_quarters(self) -> dict[str, list[str]]:
        """Per source, the quarters with at least one current delivery."""
        out: dict[str, list[str]] = {}
        for r in self.conn.execute(
                "SELECT DISTINCT bron, periode FROM delivery_quarters WHERE actueel = 1 ORDER BY periode"):
            out.setdefault(r["bron"], []).append(r["periode"])
        return out

    def current_organisations(self, periode: str) -> dict[str, list[str]]:
        """Per source, the organisations with a current delivery for ``periode``."""
        out: dict[str, list[str]] = {}
        for r in self.conn.execute(
                "SELECT bron, organisatie FROM delivery_quarters WHERE actueel = 1 AND periode = ? ORDER BY bron, organisatie",
                (periode,)):
            out.setdefault(r["bron"], []).append(r["organisatie"])
        return out

    def delivery_summaries(self) -> list[dict]:
        """Every delivery without its dataset rows or validation details, oldest first.

        For overviews (the Leveringen page): one cheap query, JSON columns decoded.
        """
        rows = self.conn.execute(
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
        return [dict(r) for r in self.conn.execute(
            "SELECT levering_id, bron, organisatie, periode, actueel, vervangen_door FROM delivery_quarters "
            "ORDER BY bron, organisatie, periode")]

    def dataset(self, periodes: list[str] | None = None) -> pd.DataFrame:
        """The combined dataset: rows of the current delivery for each (source, organisation, quarter)."""
        sql = """SELECT v.periode, v.bron, v.gebied_type, v.gebied_code, v.indicator, v.waarde, v.status, v.levering_id,
                        q.organisatie
                 FROM dataset_values v JOIN delivery_quarters q
                   ON q.levering_id = v.levering_id AND q.periode = v.periode AND q.actueel = 1"""
        params: list[str] = []
        if periodes:
            sql += f" WHERE v.periode IN ({','.join('?' * len(periodes))})"
            params = list(periodes)
        sql += " ORDER BY v.periode, v.bron, q.organisatie, v.gebied_type, v.gebied_code, v.indicator"
        return pd.read_sql_query(sql, self.conn, params=params)

    def audit(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM audit_log ORDER BY id", self.conn)

    # --- writes --------------------------------------------------------------------

    def log(self, conn: sqlite3.Connection, actie: str, *, bron=None, levering_id=None, sha256=None,
            bestandsnaam=None, **details) -> None:
        conn.execute(
            "INSERT INTO audit_log (tijdstip, actie, bron, levering_id, sha256, bestandsnaam, door, details) VALUES (?,?,?,?,?,?,?,?)",
            (now_iso(), actie, bron, levering_id, sha256, bestandsnaam, actor(), json.dumps(details, ensure_ascii=False, sort_keys=True)))

    def record(self, d: Delivery, values: pd.DataFrame | None) -> list[tuple[str, str]]:
        """Record a processed delivery in one transaction; returns (periode, superseded levering_id).

        For an accepted delivery this inserts its dataset rows and makes it the current
        delivery for each of its quarters, superseding the previous one as a whole.
        """
        superseded: list[tuple[str, str]] = []
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO deliveries (levering_id, bron, organisatie, bestandsnaam, sha256, ontvangen_op, status,
                                           persoonsgegevens, periodes, problemen, validatie, opgeslagen_als, afgerond)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0)""",
                (d.levering_id, d.bron, d.organisatie, d.bestandsnaam, d.sha256, d.ontvangen_op, d.status, int(d.persoonsgegevens),
                 json.dumps(d.periodes), json.dumps(d.problemen, ensure_ascii=False), json.dumps(d.validatie),
                 d.opgeslagen_als))
            if d.status == DeliveryStatus.ACCEPTED:
                for periode in d.periodes:
                    prev = conn.execute(
                        """SELECT q.levering_id, d.sha256, d.bestandsnaam FROM delivery_quarters q JOIN deliveries d USING (levering_id)
                           WHERE q.bron = ? AND q.organisatie = ? AND q.periode = ? AND q.actueel = 1""",
                        (d.bron, d.organisatie, periode)).fetchone()
                    if prev:
                        conn.execute("UPDATE delivery_quarters SET actueel = 0, vervangen_door = ? WHERE levering_id = ? AND periode = ?",
                                     (d.levering_id, prev["levering_id"], periode))
                        superseded.append((periode, prev["levering_id"]))
                        # One audit row per superseded (source, quarter): both deliveries, both hashes.
                        self.log(conn, "vervangen", bron=d.bron, levering_id=d.levering_id, sha256=d.sha256,
                                 bestandsnaam=d.bestandsnaam, periode=periode, organisatie=d.organisatie, vervangen_levering_id=prev["levering_id"],
                                 vervangen_sha256=prev["sha256"], vervangen_bestandsnaam=prev["bestandsnaam"])
                    conn.execute(
                        "INSERT INTO delivery_quarters (levering_id, bron, organisatie, periode, actueel) VALUES (?,?,?,?,1)",
                        (d.levering_id, d.bron, d.organisatie, periode))
                if values is not None and len(values):
                    conn.executemany(
                        "INSERT INTO dataset_values (levering_id, periode, bron, gebied_type, gebied_code, indicator, waarde, status) VALUES (?,?,?,?,?,?,?,?)",
                        [(d.levering_id, r.periode, r.bron, r.gebied_type, r.gebied_code, r.indicator,
                          None if pd.isna(r.waarde) else float(r.waarde), r.status)
                         for r in values.itertuples(index=False)])
                    if "herkomst" in values:
                        conn.executemany(
                            """INSERT INTO value_provenance (levering_id, periode, gebied_type, gebied_code, indicator,
                                                             soort, tabblad, cel, regel, rijen, details)
                               VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
                            [(d.levering_id, *provenance_row(r)) for r in values.itertuples(index=False)
                             if isinstance(r.herkomst, dict)])
            self.log(conn, str(DeliveryStatus(d.status)), bron=d.bron,
                     levering_id=d.levering_id, sha256=d.sha256, bestandsnaam=d.bestandsnaam,
                     organisatie=d.organisatie, periodes=d.periodes, vervangen=[{"periode": p, "levering_id": lid} for p, lid in superseded],
                     fouten=sorted({p["code"] for p in d.problemen if p["severity"] == "fout"}))
        return superseded

    def mark_settled(self, levering_id: str, opgeslagen_als: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE deliveries SET afgerond = 1, opgeslagen_als = ? WHERE levering_id = ?",
                         (opgeslagen_als, levering_id))

    # --- attempts per claimed file (dead-letter) ----------------------------------------
    # Created by SCHEMA (CREATE TABLE IF NOT EXISTS), so an existing store gains the table on
    # its next open: that is the whole migration, no existing table changes.

    def start_attempt(self, bron: str, claimed_name: str) -> int:
        """Count one more attempt at analysing this claimed file (committed before the work
        starts, so a process killed during the analysis leaves it counted); returns the count."""
        with self.transaction() as conn:
            now = now_iso()
            conn.execute(
                """INSERT INTO claim_attempts (bron, claimed_name, attempts, first_at, last_at) VALUES (?,?,1,?,?)
                   ON CONFLICT (bron, claimed_name) DO UPDATE SET attempts = attempts + 1, last_at = excluded.last_at""",
                (bron, claimed_name, now, now))
            return conn.execute("SELECT attempts FROM claim_attempts WHERE bron = ? AND claimed_name = ?",
                                (bron, claimed_name)).fetchone()[0]

    def attempts(self, bron: str, claimed_name: str) -> dict | None:
        row = self.conn.execute("SELECT * FROM claim_attempts WHERE bron = ? AND claimed_name = ?",
                                (bron, claimed_name)).fetchone()
        return dict(row) if row else None

    def note_attempt(self, bron: str, claimed_name: str, *, pid: int | None = None, failure: str | None = None) -> None:
        """Remember the child's pid (for operators and the kill test) or how the attempt died."""
        with self.transaction() as conn:
            if pid is not None:
                conn.execute("UPDATE claim_attempts SET last_pid = ? WHERE bron = ? AND claimed_name = ?",
                             (pid, bron, claimed_name))
            if failure is not None:
                conn.execute("UPDATE claim_attempts SET last_failure = ? WHERE bron = ? AND claimed_name = ?",
                             (failure, bron, claimed_name))

    def finish_attempts(self, bron: str, claimed_name: str) -> None:
        """The claimed file has its delivery record: its attempts are history (the audit log keeps them)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM claim_attempts WHERE bron = ? AND claimed_name = ?", (bron, claimed_name))

    def log_event(self, actie: str, **kw) -> None:
        with self.transaction() as conn:
            self.log(conn, actie, **kw)
