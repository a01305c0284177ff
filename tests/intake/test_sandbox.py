"""Several limited children at once (``etl.intake.sandbox.Children``): they really overlap,
results come back by key in any order, a finished child never waits for a busy parent,
and a discarded child is killed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from etl.intake.sandbox import ChildDied, Children, SandboxLimits

LIMITS = SandboxLimits(memory_bytes=300 * 2**20, seconds=20, result_bytes=8 * 2**20)


def _meet(folder: str, me: str, other: str, wait: float) -> bool:
    """Say "I run", then wait for the other child to say the same: True if it did in time."""
    Path(folder, me).touch()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if Path(folder, other).exists():
            return True
        time.sleep(0.02)
    return False


def test_two_children_run_at_the_same_time(tmp_path):
    with Children(2, LIMITS) as children:
        children.submit("a", _meet, str(tmp_path), "a", "b", 10.0)
        children.submit("b", _meet, str(tmp_path), "b", "a", 10.0)
        assert children.result("b")[0] is True          # collected out of order
        assert children.result("a")[0] is True
        assert children.outstanding == 0


def test_one_slot_runs_them_one_after_the_other(tmp_path):
    with Children(1, LIMITS) as children:
        children.submit("a", _meet, str(tmp_path), "a", "b", 1.0)
        children.submit("b", _meet, str(tmp_path), "b", "a", 1.0)
        assert children.result("a")[0] is False          # b had not started while a ran
        assert children.result("b")[0] is True


def _payload(n: int) -> bytes:
    return os.urandom(n)


def test_a_finished_child_does_not_wait_for_a_busy_parent():
    """Its result goes to a file, not a pipe: a result far larger than a pipe's buffer, and a
    parent that looks only after the time limit has passed, still give the result."""
    with Children(1, SandboxLimits(300 * 2**20, 1.5, 8 * 2**20)) as children:
        children.submit("big", _payload, 4 * 2**20)
        time.sleep(3.0)                                  # busy elsewhere, past the 1.5 s limit
        data, report = children.result("big")
    assert len(data) == 4 * 2**20 and report.peak_rss_bytes > 0


def _hang() -> None:
    time.sleep(60)


def test_discard_kills_the_child_and_a_slow_one_is_killed_at_its_limit():
    pids: list[int] = []
    with Children(2, SandboxLimits(300 * 2**20, 1.5, 2**20)) as children:
        children.submit("keep", _hang, on_start=pids.append)
        children.submit("drop", _hang, on_start=pids.append)
        children.discard("drop")
        with pytest.raises(ProcessLookupError):
            os.kill(pids[1], 0)                          # killed and reaped
        with pytest.raises(ChildDied) as died:
            children.result("keep")
        assert died.value.kind == "tijd"
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
