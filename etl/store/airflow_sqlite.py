"""SQLite connections for Airflow's metadata database on the embedded default: write transactions start IMMEDIATE.

Why: with the scheduler, the dag-processor, the api-server and a CLI command writing the
same SQLite file, ``airflow backfill create`` failed with "database is locked" after
creating two of its four runs, and the scheduler then crashed on the half-made
back-fill (measured here, Airflow 3.3, WAL mode). Two pysqlite behaviours meet:

* a ``SAVEPOINT`` (SQLAlchemy's ``begin_nested``, used per back-fill run) outside a
  transaction starts a *deferred* transaction; its first write must upgrade a read
  snapshot, and when another process wrote in between SQLite answers SQLITE_BUSY at
  once, without the busy timeout;
* releasing that outermost savepoint *commits*, so what the CLI made before the
  failure stays, and the rollback leaves a half back-fill behind.

Starting every write transaction with ``BEGIN IMMEDIATE`` (before DML, and before a
``SAVEPOINT`` outside a transaction) takes the write lock up front: writers queue on the
busy timeout (``?timeout=60`` in scripts/airflow-env.sh) instead of failing, and a
savepoint is nested inside a real transaction. Used through
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS=etl.store.airflow_sqlite.CONNECT_ARGS``
(scripts/airflow-env.sh); PostgreSQL (docker-compose) does not need it.
"""

from __future__ import annotations

import sqlite3


class _Cursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):
        if not self.connection.in_transaction and sql.lstrip()[:9].upper() == "SAVEPOINT":
            super().execute("BEGIN IMMEDIATE")
        return super().execute(sql, parameters)


class ImmediateConnection(sqlite3.Connection):
    """A connection whose write transactions begin IMMEDIATE (see the module docstring)."""

    def cursor(self, factory=_Cursor):  # noqa: D102 - same contract as sqlite3.Connection.cursor
        return super().cursor(factory)


# isolation_level="IMMEDIATE": the implicit BEGIN that pysqlite emits before DML is IMMEDIATE.
CONNECT_ARGS = {"factory": ImmediateConnection, "isolation_level": "IMMEDIATE"}
