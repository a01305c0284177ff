"""Where everything lives, and the limits that protect the pipeline.

The only module that knows the layout of ``MONITOR_DATA_DIR``; everything else asks
a ``DataDirs``. Settings are read from the environment so that the embedded default,
the tests and the docker-compose stack differ only in variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from etl.core.sources import load_sources

PROJECT_DIR = Path(__file__).resolve().parents[2]
#: Source keys in the order of include/sources.yaml: the one list of partners.
SOURCES: tuple[str, ...] = tuple(load_sources())


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _mb(name: str, default: int):
    """A limit in MB from the environment, read when a ``Limits`` is made (never at import)."""
    return field(default_factory=lambda: _env_int(name, default) * 1024 * 1024)


@dataclass(frozen=True)
class Limits:
    """Hostile-file limits. A real quarterly delivery is far below every one of them.

    Like every setting here, read from the environment per call (``Limits()``), so a
    test or a task that sets a variable sees it without re-importing the module.
    """

    max_file_bytes: int = _mb("MONITOR_MAX_FILE_MB", 100)
    max_uncompressed_bytes: int = _mb("MONITOR_MAX_UNCOMPRESSED_MB", 1024)
    max_compression_ratio: int = 200
    max_zip_members: int = 2000
    max_rows: int = field(default_factory=lambda: _env_int("MONITOR_MAX_ROWS", 1_100_000))
    max_columns: int = 200


@dataclass(frozen=True)
class DataDirs:
    root: Path
    #: The store's SQLAlchemy URL (``MONITOR_STORE_URL``); empty: the SQLite file ``db_path``.
    #: Carried here, not read by the store from the environment, so that one process can
    #: hold two data directories with two stores (the tests do).
    store_url: str = ""

    @classmethod
    def from_env(cls) -> DataDirs:
        root = Path(os.environ.get("MONITOR_DATA_DIR", PROJECT_DIR / "data")).resolve()
        return cls(root, os.environ.get("MONITOR_STORE_URL", "").strip())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def restricted(self) -> Path:
        """Files refused for personal data: readable by the data protection officer only."""
        return self.root / "quarantine-restricted"

    @property
    def processing(self) -> Path:
        """Claimed files being processed; a crash leaves them here and the next run resumes."""
        return self.root / "processing"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def db_path(self) -> Path:
        return self.store / "monitor.sqlite"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def lock_path(self) -> Path:
        return self.root / ".inbox.lock"

    def ensure(self) -> DataDirs:
        for d in (self.inbox, self.outbox, self.archive, self.quarantine, self.processing,
                  self.store, self.reports):
            d.mkdir(parents=True, exist_ok=True)
        self.restricted.mkdir(parents=True, exist_ok=True)
        os.chmod(self.restricted, 0o700)
        from etl.core.organisations import organisations

        folders = {*SOURCES, *(o.folder for o in organisations())}
        for folder in sorted(folders):
            for d in (self.inbox, self.outbox, self.archive, self.quarantine, self.processing):
                (d / folder).mkdir(parents=True, exist_ok=True)
        return self


def stable_seconds() -> float:
    """How long a file's size and mtime must be unchanged before it is picked up."""
    return float(os.environ.get("MONITOR_STABLE_SECONDS", "10"))


def inbox_interval_seconds() -> int:
    """How often the inbox DAG looks (``MONITOR_INBOX_INTERVAL_SECONDS``, default 30, at least 5).

    The partner's wait is about half this interval plus the stability window plus the task;
    every run costs the workers a task start-up per source (bench/README.md, latency)."""
    try:
        value = int(os.environ.get("MONITOR_INBOX_INTERVAL_SECONDS", "30"))
    except ValueError:
        value = 30
    return max(value, 5)


def analysis_parallel() -> int:
    """How many files the inbox analyses at once (``MONITOR_PARSE_PARALLEL``; default the
    cores this process may use, at most 4; at least 1).

    Each analysis runs in its own child with its own memory budget
    (``MONITOR_PARSE_MEMORY_MB``), so the worst case is this many budgets at once."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        value = int(os.environ.get("MONITOR_PARSE_PARALLEL", "0"))
    except ValueError:
        value = 0
    return max(1, value if value > 0 else min(cores, 4))
