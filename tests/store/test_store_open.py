"""A fresh store opened by several processes at once: no ``database is locked``.

The first mapped inbox tasks of a new installation open a store that does not exist
yet, at the same moment. Before the creation lock in ``Store.__init__`` this failed
(issue 11: 4 failures in 90 opens with three processes). Real processes, a real SQLite
file on disk, many rounds.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

PROCESSES = 4
ROUNDS = 20


def _open_and_write(path: str, barrier, errors) -> None:
    from etl.store.db import Store

    barrier.wait()
    try:
        with Store(Path(path)) as store:
            store.log_event("test_open", bron=None)
    except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
        errors.put(f"{type(exc).__name__}: {exc}")


def test_fresh_store_opened_by_many_processes_at_once(tmp_path):
    import etl.store.db  # noqa: F401 - imported once here, so the forked children race on the open, not on imports

    ctx = mp.get_context("fork")
    errors = ctx.Queue()
    for n in range(ROUNDS):
        path = tmp_path / f"round{n}" / "store" / "monitor.sqlite"
        barrier = ctx.Barrier(PROCESSES)
        procs = [ctx.Process(target=_open_and_write, args=(str(path), barrier, errors)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
            assert p.exitcode == 0
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [], f"{len(found)} of {ROUNDS * PROCESSES} opens failed: {sorted(set(found))}"
    # Every open really wrote: the audit log of each round holds one event per process.
    import sqlite3

    for n in range(ROUNDS):
        db = sqlite3.connect(tmp_path / f"round{n}" / "store" / "monitor.sqlite")
        assert db.execute("SELECT count(*) FROM audit_log WHERE actie = 'test_open'").fetchone()[0] == PROCESSES
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()


def _open_url_and_write(url: str, barrier, errors) -> None:
    from etl.store.db import Store

    barrier.wait()
    try:
        with Store(url) as store:
            store.log_event("test_open", bron=None)
    except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
        errors.put(f"{type(exc).__name__}: {exc}")


def test_fresh_postgresql_store_opened_by_many_processes_at_once(store_pg_database):
    """Several hosts opening an empty PostgreSQL store at once: the advisory lock around the
    CREATE statements makes exactly one of them create the schema, the others wait and see it."""
    import etl.store.db  # noqa: F401
    from tests.store.conftest import fresh_pg_url

    ctx = mp.get_context("fork")
    errors = ctx.Queue()
    urls = []
    for _ in range(ROUNDS // 4):
        url = fresh_pg_url(store_pg_database)
        urls.append(url)
        barrier = ctx.Barrier(PROCESSES)
        procs = [ctx.Process(target=_open_url_and_write, args=(url, barrier, errors)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
            assert p.exitcode == 0
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [], f"{len(found)} opens failed: {sorted(set(found))}"
    from etl.store.db import Store

    for url in urls:
        with Store(url) as store:
            assert (store.audit()["actie"] == "test_open").sum() == PROCESSES
