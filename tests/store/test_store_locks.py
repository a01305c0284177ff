"""Serialisation and time that hold across hosts (issue 15): the inbox lock per partner folder
on both backends, the PostgreSQL advisory lock released when its holder dies, the store's clock."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT


def test_inbox_lock_is_one_at_a_time_and_times_out(data_dirs):
    from etl.intake.inbox import inbox_lock
    from etl.store.db import Store

    with Store.open(data_dirs) as a, Store.open(data_dirs) as b:
        with inbox_lock(data_dirs, "wij/het-hogeland", a):
            t = time.monotonic()
            with pytest.raises(TimeoutError, match="wij/het-hogeland"):
                with inbox_lock(data_dirs, "wij/het-hogeland", b, timeout=1):
                    pass
            assert time.monotonic() - t >= 1
            with inbox_lock(data_dirs, "wij/westerkwartier", b, timeout=1):    # another folder: free
                pass
        with inbox_lock(data_dirs, "wij/het-hogeland", b, timeout=1):          # released
            pass


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_advisory_lock_of_a_killed_holder_is_released(data_dirs):
    """SIGKILL of the process that holds the lock: the server drops its session, the lock goes."""
    from etl.intake.inbox import inbox_lock
    from etl.store.db import Store

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from etl.core.config import DataDirs\n"
         "from etl.intake.inbox import inbox_lock\n"
         "from etl.store.db import Store\n"
         "dirs = DataDirs.from_env()\n"
         "with Store.open(dirs) as s, inbox_lock(dirs, 'veilig_thuis', s):\n"
         "    print('held', flush=True); time.sleep(600)\n"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Store.open(data_dirs) as s:
            with pytest.raises(TimeoutError):
                with inbox_lock(data_dirs, "veilig_thuis", s, timeout=1):
                    pass
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
            with inbox_lock(data_dirs, "veilig_thuis", s, timeout=30):
                pass
    finally:
        holder.kill()


def test_store_clock_is_utc_and_now(data_dirs):
    from etl.store.db import Store

    with Store.open(data_dirs) as s:
        t = s.now()
    assert t.tzinfo is not None and t.utcoffset() == dt.timedelta(0)
    assert abs((t - dt.datetime.now(dt.UTC)).total_seconds()) < 60
