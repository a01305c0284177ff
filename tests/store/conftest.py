"""The store's tests run on both backends: a SQLite file, and the machine's PostgreSQL.

PostgreSQL gets one fresh database per test session (``store_test_<pid>``, dropped
afterwards) and, inside it, a fresh schema per store (the URL sets ``search_path``), so
every test starts from an empty store without paying for a ``CREATE DATABASE`` each.
When PostgreSQL is not running, the PostgreSQL half skips and says why; the SQLite half
always runs.

``data_dirs`` and ``ingested_samples`` override the fixtures of ``tests/conftest.py``
here, parametrised by backend: every test of this folder that uses them runs twice.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time

import pytest

from tests.production.conftest import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    START_HINT,
    create_database,
    drop_database,
    pg_uri,
    postgres_reachable,
)

BACKENDS = ("sqlite", "postgresql")
_schemas = itertools.count(1)
#: Seconds it took to record the sample deliveries, per backend (printed at the end of the session).
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def store_pg_database():
    """The session's PostgreSQL database for stores; skips (naming the start command) without a server."""
    reason = postgres_reachable()
    if reason:
        pytest.skip(f"{reason}; {START_HINT}")
    name = f"store_test_{os.getpid()}"
    create_database(name)
    yield name
    drop_database(name)


def fresh_pg_url(dbname: str) -> str:
    """The URL of a new, empty store: a fresh schema in the session database."""
    import psycopg

    schema = f"store_{next(_schemas)}"
    with psycopg.connect(pg_uri(dbname), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}?options=-csearch_path%3D{schema}"


def store_url_for(backend: str, request) -> str:
    """'' for SQLite (the file under the data directory), a fresh PostgreSQL store otherwise."""
    if backend == "sqlite":
        return ""
    return fresh_pg_url(request.getfixturevalue("store_pg_database"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def data_dirs(tmp_path, monkeypatch, backend, request):
    """A fresh MONITOR_DATA_DIR with the standard layout and an empty store of ``backend``."""
    from etl.core.config import DataDirs

    url = store_url_for(backend, request)
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MONITOR_STABLE_SECONDS", "0")
    if url:
        monkeypatch.setenv("MONITOR_STORE_URL", url)
    else:
        monkeypatch.delenv("MONITOR_STORE_URL", raising=False)
    return DataDirs(tmp_path / "data", url).ensure()


@pytest.fixture(scope="session", params=BACKENDS)
def ingested_samples(request, tmp_path_factory, sample_set):
    """A data directory into which all sample deliveries were ingested, per backend (read-only for tests)."""
    from etl.core.config import DataDirs
    from etl.intake.inbox import process_inbox

    url = store_url_for(request.param, request)
    root = tmp_path_factory.mktemp(f"ingested_{request.param}") / "data"
    dirs = DataDirs(root, url).ensure()
    for f in sample_set.files:
        target = dirs.inbox / sample_set.folder(f) / f.name
        shutil.copy2(f, target)
        os.utime(target, (0, 0))
    start = time.perf_counter()
    outcomes = process_inbox(dirs)
    TIMINGS[request.param] = time.perf_counter() - start
    return dirs, outcomes


def pytest_terminal_summary(terminalreporter) -> None:
    for backend, seconds in TIMINGS.items():
        terminalreporter.write_line(f"store: sample deliveries ingested on {backend} in {seconds:.1f} s")
