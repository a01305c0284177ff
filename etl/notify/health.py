"""Are receipts still flowing? Files that wait too long in inbox/ or processing/.

Why a file-system check and not an Airflow one: when a worker cannot reach the broker
(or the scheduler or every worker is down) no task runs, so no DAG task can raise the
alarm. This check needs only the data directory and SMTP. It runs in its own compose
service (``inbox-bewaking``: ``python -m etl health --alert --watch 60``), independent
of Redis, the workers and the scheduler, and the same command without ``--alert`` is
that service's health check (exit 1 = a file waits too long).

A file's waiting time counts from when it arrived in its folder: the later of its
modification and status-change time (a copy or rename into the folder sets the
status-change time), so a file copied with an old modification time is not "old".
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass

from etl.core.config import SOURCES, DataDirs
from etl.core.naming import is_ignored

DEFAULT_MINUTES = float(os.environ.get("MONITOR_ALERT_MINUTES", "5"))


@dataclass(frozen=True)
class Waiting:
    bron: str
    where: str            # "inbox" or "processing"
    name: str
    since: float          # epoch seconds: arrived in this folder
    age_seconds: float

    @property
    def since_iso(self) -> str:
        return dt.datetime.fromtimestamp(int(self.since), dt.UTC).isoformat()


def waiting_files(dirs: DataDirs, now: float | None = None) -> list[Waiting]:
    """Every file in each partner folder of inbox/ and processing/, oldest first (lock and temp
    files excluded); ``bron`` is the partner folder (``wij/het-hogeland``)."""
    from etl.core.organisations import organisations

    now = time.time() if now is None else now
    out = []
    folders = sorted({*SOURCES, *(o.folder for o in organisations())})
    for where, root in (("inbox", dirs.inbox), ("processing", dirs.processing)):
        for bron in folders:
            folder = root / bron
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if is_ignored(entry.name) or not (entry.is_file(follow_symlinks=False) or entry.is_symlink()):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:     # picked up meanwhile
                    continue
                since = max(st.st_mtime, st.st_ctime)
                out.append(Waiting(bron, where, entry.name, since, max(0.0, now - since)))
    return sorted(out, key=lambda w: w.since)


def stalled(dirs: DataDirs, minutes: float = DEFAULT_MINUTES, now: float | None = None) -> list[Waiting]:
    """The files that have waited longer than ``minutes``, oldest first."""
    return [w for w in waiting_files(dirs, now) if w.age_seconds > minutes * 60]
