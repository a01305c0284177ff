"""Run the analysis of one file in a forked child with a memory and a time limit.

Why: the readers are native code (calamine in Rust, zlib, expat). A hostile or odd file
can make them abort the process (a Rust allocation failure is ``abort()``, exit 134), panic
inside the binding, or hang; no ``except`` in Python catches that. Run in the inbox
process itself, such a file kills the run, stays in ``processing/`` and kills every
later run too. In a child the worst case is a dead child: the parent sees how it ended
and the file gets a ``verwerkingsfout`` receipt (see ``etl.intake.inbox``).

How:

* ``os.fork`` (not spawn): the parent imports pandas and Great Expectations and builds
  the GX context once (``warm_up``), every child inherits them copy-on-write, so a file
  costs a fork (milliseconds), not a fresh import (seconds).
* The child uses pyarrow's system allocator (jemalloc's reservations fail under any
  address-space limit) and sets ``RLIMIT_AS`` to what the parent already maps plus a budget
  (``MONITOR_PARSE_MEMORY_MB``, default 1024): native allocations beyond it fail in the
  child (Python raises ``MemoryError``, Rust aborts), never in the machine's OOM killer.
  The limit is relative because the parent's address space (thread stacks, arenas
  reserved by numpy and pyarrow) is already large after the imports and is inherited.
* The parent waits at most ``MONITOR_PARSE_SECONDS`` (default 180) and then SIGKILLs.
* The result comes back pickled in an unlinked temporary file, length-prefixed and capped
  (``MONITOR_PARSE_RESULT_MB``, default 64): a larger result is refused. A file, not a
  pipe: a child that is done exits at once, even while the parent is busy with another
  file (``Children`` runs several at a time).
* The child never touches the parent's SQLite connection and leaves with ``os._exit``,
  so no finaliser, atexit hook or buffered file of the parent runs twice.
* ``os.wait4`` gives the child's own peak RSS, reported with every result.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import pickle
import resource
import select
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
# Before pyarrow is first used (see _system_arrow_pool): children inherit the environment.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
PAUSE_ENV = "MONITOR_TEST_PAUSE_AT"
PAUSE_FILE_ENV = "MONITOR_TEST_PAUSE_FILE"


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class SandboxLimits:
    """Per-file limits of the child; read from the environment at call time."""

    memory_bytes: int
    seconds: float
    result_bytes: int

    @classmethod
    def from_env(cls) -> SandboxLimits:
        return cls(memory_bytes=int(_env_float("MONITOR_PARSE_MEMORY_MB", 1024) * 2**20),
                   seconds=_env_float("MONITOR_PARSE_SECONDS", 180),
                   result_bytes=int(_env_float("MONITOR_PARSE_RESULT_MB", 64) * 2**20))


@dataclass(frozen=True)
class ChildReport:
    """How one child ended: its pid, wall time and peak resident memory."""

    pid: int
    seconds: float
    peak_rss_bytes: int


class ChildDied(Exception):
    """The child ended without a result: killed by a signal, aborted, out of memory, too slow,
    or it sent more than the cap. ``kind`` is one of ``signaal``, ``afgebroken``, ``tijd``,
    ``geheugen``, ``exit``, ``resultaat``; ``detail`` is safe to log (no cell values)."""

    def __init__(self, kind: str, detail: str, report: ChildReport):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.report = report


class ChildRaised(Exception):
    """The function raised in the child; carries the exception type and code locations
    (never the message, which could quote a cell value)."""

    def __init__(self, type_name: str, where: str, report: ChildReport):
        super().__init__(type_name)
        self.type_name = type_name
        self.where = where
        self.report = report


def warm_up() -> None:
    """Import the heavy libraries and build the GX context once, in the parent, before the
    first fork, so that no child imports them again."""
    import fastexcel  # noqa: F401 - the readers' native libraries: mapped once, shared by every child
    import python_calamine  # noqa: F401

    from etl.core.config import SOURCES
    from etl.intake import analyse  # noqa: F401 - pandas, calamine, the readers
    from etl.intake.validate import _gx

    gx = _gx()
    for bron in SOURCES:
        gx.suites_for(bron)


def _vm_size() -> int:
    """The address space this process maps now (bytes): the base the child's limit adds to."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _system_arrow_pool() -> None:
    """pyarrow's default allocator (jemalloc) reserves address space in large chunks and fails
    with ArrowMemoryError under RLIMIT_AS (and under RLIMIT_DATA: measured, both refuse a plain
    VT file with a 1 GB budget); the system allocator grows with what is used."""
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.set_memory_pool(pa.system_memory_pool())


def _pause_in_child() -> None:
    """Test hook: with ``MONITOR_TEST_PAUSE_AT=in_sandbox`` the child writes its pid and hangs,
    like a parser stuck in native code, so that a test can SIGKILL exactly the child."""
    if os.environ.get(PAUSE_ENV) != "in_sandbox":
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(str(os.getpid()))
    while True:
        time.sleep(3600)


def _where(exc: BaseException) -> str:
    """Code locations only (file:line function), innermost first; never the message."""
    return " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in list(reversed(traceback.extract_tb(exc.__traceback__)))[:6])


def _child(result_fd: int, err_fd: int, fn: Callable[..., Any], args: tuple, limits: SandboxLimits, base_vm: int,
           inherited: tuple[int, ...]) -> None:
    """Body of the child; never returns."""
    code = 70                     # any path that does not reach the end is a failure
    try:
        for fd in inherited:      # the other children's files: not ours to hold open
            try:
                os.close(fd)
            except OSError:
                pass
        os.dup2(err_fd, 2)        # native aborts print backtraces: the parent decides what to show
        if faulthandler.is_enabled():                  # pytest and Airflow enable it on a copy of fd 2
            faulthandler.enable(file=2)   # fd 2 itself: sys.stderr may be a capture without a fileno
        os.environ["RUST_BACKTRACE"] = "0"
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(int(limits.seconds) + 5)      # ends the child even if its parent was killed
        if limits.memory_bytes > 0:
            _system_arrow_pool()
            cap = base_vm + limits.memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        _pause_in_child()
        try:
            payload = pickle.dumps(("ok", fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError as exc:
            payload = pickle.dumps(("memory", f"MemoryError at {_where(exc)}"))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            payload = pickle.dumps(("raised", type(exc).__name__, _where(exc)))
        if len(payload) > limits.result_bytes:
            payload = pickle.dumps(("too_big", len(payload)))
        data = _HEADER.pack(len(payload)) + payload
        view = memoryview(data)
        while view:
            n = os.write(result_fd, view)
            view = view[n:]
        code = 0
    except BaseException as exc:  # noqa: BLE001 - the parent reads the exit code
        os.write(2, f"sandbox child failed: {type(exc).__name__}\n".encode())
    finally:
        os._exit(code)


@dataclass
class _Running:
    """One started child: its result and stderr go to unlinked temporary files (not a pipe),
    so a child that is done never waits for a parent busy with another file."""

    pid: int
    started: float
    result: Any                      # the temporary files (binary, unlinked)
    err: Any
    pidfd: int | None                # readable once the child has exited (Linux >= 5.3)

    def fds(self) -> tuple[int, ...]:
        return tuple(fd for fd in (self.result.fileno(), self.err.fileno(), self.pidfd) if fd is not None)

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.result.close()
        self.err.close()


@dataclass
class _Ended:
    status: int
    report: ChildReport
    data: bytes
    why: tuple[str, str] | None
    child_err: str


class Children:
    """Up to ``parallel`` limited children at once; results collected by key, in any order.

    Why: on a machine with several cores the analysis of one file (the readers, GX) uses
    one. The inbox starts the analyses of the next files while it records and settles the
    current one, in claim order (``etl.intake.inbox``); each file keeps its own child, its
    own limits and its own report, exactly as with ``run_limited``.

    Children run only while the parent is inside ``result``/``poll`` or ``submit``; one that
    is done waits as an exited process with its result in a file. The time limit counts
    from the fork; a child still running past it is killed at the next look (and by its
    own alarm five seconds later if the parent is busy).
    """

    def __init__(self, parallel: int = 1, limits: SandboxLimits | None = None) -> None:
        self.parallel = max(1, parallel)
        self.limits = limits or SandboxLimits.from_env()
        self._queued: dict[Hashable, tuple[Callable[..., Any], tuple, Callable[[int], None] | None]] = {}
        self._running: dict[Hashable, _Running] = {}
        self._ended: dict[Hashable, _Ended] = {}

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._queued or key in self._running or key in self._ended

    @property
    def outstanding(self) -> int:
        """Submitted and not yet collected (queued, running or ended)."""
        return len(self._queued) + len(self._running) + len(self._ended)

    def submit(self, key: Hashable, fn: Callable[..., Any], *args: Any,
               on_start: Callable[[int], None] | None = None) -> None:
        """Queue ``fn(*args)``; it starts as soon as fewer than ``parallel`` children run."""
        if key in self:
            raise ValueError(f"already submitted: {key!r}")
        self._queued[key] = (fn, args, on_start)
        self.poll()

    def result(self, key: Hashable) -> tuple[Any, ChildReport]:
        """Wait for ``key``'s child; its result and report, or ``ChildDied``/``ChildRaised``."""
        if key not in self:
            raise KeyError(key)
        while key not in self._ended:
            self._step(block=True)
        ended = self._ended.pop(key)
        self.poll()                                   # its slot goes to the next queued child now
        return _report_outcome(ended)

    def discard(self, key: Hashable) -> None:
        """Forget ``key``: not started, killed if running, its result dropped."""
        self._queued.pop(key, None)
        running = self._running.pop(key, None)
        if running is not None:
            _kill(running.pid)
            os.waitpid(running.pid, 0)
            running.close()
        self._ended.pop(key, None)
        self.poll()

    def poll(self) -> None:
        """Start queued children into free slots and collect any that ended; never waits."""
        self._step(block=False)

    def close(self) -> None:
        """Kill and reap what still runs (the parent is leaving: the files stay claimed)."""
        self._queued.clear()
        for key in list(self._running):
            self.discard(key)
        self._ended.clear()

    # --- internals ---------------------------------------------------------------------

    def _start(self, key: Hashable) -> None:
        fn, args, on_start = self._queued.pop(key)
        base_vm = _vm_size()
        result = tempfile.TemporaryFile()
        err = tempfile.TemporaryFile()
        inherited = tuple(fd for r in self._running.values() for fd in r.fds())
        for stream in (sys.stdout, sys.stderr):
            stream.flush()                             # nothing buffered is written twice
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:                                   # child
            _child(result.fileno(), err.fileno(), fn, args, self.limits, base_vm, inherited)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):              # no pidfd here: poll the pid instead
            pidfd = None
        self._running[key] = _Running(pid, started, result, err, pidfd)
        if on_start is not None:
            on_start(pid)

    def _fill(self) -> None:
        while self._queued and len(self._running) < self.parallel:
            self._start(next(iter(self._queued)))

    def _step(self, block: bool) -> None:
        self._fill()
        if not self._running:
            return
        timeout = 0.0
        if block:
            now = time.monotonic()
            timeout = max(0.0, min(r.started + self.limits.seconds - now for r in self._running.values()))
        pidfds = [r.pidfd for r in self._running.values() if r.pidfd is not None]
        if len(pidfds) == len(self._running):
            select.select(pidfds, [], [], min(timeout, 1.0))
        elif block:
            time.sleep(min(timeout, 0.05))
        for key, running in list(self._running.items()):
            pid, status, usage = os.wait4(running.pid, os.WNOHANG)
            why = None
            if pid == 0:
                if time.monotonic() - running.started < self.limits.seconds:
                    continue
                _kill(running.pid)
                pid, status, usage = os.wait4(running.pid, 0)
                why = ("tijd", f"no result within {self.limits.seconds:g} s")
            del self._running[key]
            self._ended[key] = _collect(running, status, usage, why, self.limits)
        self._fill()


def _collect(running: _Running, status: int, usage: resource.struct_rusage, why: tuple[str, str] | None,
             limits: SandboxLimits) -> _Ended:
    report = ChildReport(running.pid, time.monotonic() - running.started, usage.ru_maxrss * 1024)
    data = b""
    if why is None:
        cap = limits.result_bytes + _HEADER.size + 1024
        size = os.fstat(running.result.fileno()).st_size
        if size > cap:                                 # the child checks this itself; a parent never trusts it
            why = ("resultaat", f"more than {cap} bytes")
        else:
            running.result.seek(0)
            data = running.result.read(cap)
    running.err.seek(0)
    child_err = running.err.read(64 * 1024).decode("utf-8", errors="replace")
    running.close()
    return _Ended(status, report, data, why, child_err)


def _report_outcome(ended: _Ended) -> tuple[Any, ChildReport]:
    status, child_err = ended.status, ended.child_err
    try:
        return _outcome(ended.data, ended.why, status, ended.report)
    except ChildDied:
        if child_err.strip():                      # the first line says what native code said
            log.error("kindproces %d: %s", ended.report.pid, child_err.strip().splitlines()[0][:300])
        raise
    finally:
        if child_err and not os.WIFSIGNALED(status) and ended.why is None and "stack backtrace" not in child_err:
            sys.stderr.write(child_err)            # the child's own log lines, as they would have been


def run_limited(fn: Callable[..., Any], *args: Any, limits: SandboxLimits | None = None,
                on_start: Callable[[int], None] | None = None) -> tuple[Any, ChildReport]:
    """``fn(*args)`` in a forked child under ``limits``; returns its result and a report.

    Raises ``ChildDied`` if the child ends without a result and ``ChildRaised`` if ``fn``
    raised. ``on_start`` gets the child's pid (the inbox records it in the store).
    """
    with Children(1, limits) as children:
        children.submit(None, fn, *args, on_start=on_start)
        return children.result(None)


def _outcome(data: bytes, why: tuple[str, str] | None, status: int, report: ChildReport) -> tuple[Any, ChildReport]:
    if why is not None:
        raise ChildDied(why[0], why[1], report)
    if len(data) < _HEADER.size or _HEADER.unpack_from(data)[0] != len(data) - _HEADER.size:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            kind = "afgebroken" if sig == signal.SIGABRT else "signaal"   # abort(): Rust OOM, panic, assert
            raise ChildDied(kind, f"signal {sig} ({signal.Signals(sig).name})", report)
        raise ChildDied("exit", f"exit code {os.waitstatus_to_exitcode(status)} without a result", report)
    message = pickle.loads(data[_HEADER.size:])   # noqa: S301 - our own child, through our own file
    if message[0] == "ok":
        return message[1], report
    if message[0] == "memory":
        raise ChildDied("geheugen", message[1], report)
    if message[0] == "too_big":
        raise ChildDied("resultaat", f"result of {message[1]} bytes exceeds the cap", report)
    raise ChildRaised(message[1], message[2], report)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
