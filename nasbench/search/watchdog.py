"""Nothing of an embedded Ray outlives its driver by more than a few seconds.

A driver that exits normally shuts its Ray down. One killed with ``kill -9`` cannot: Ray's
processes (GCS, raylet, dashboard and runtime-env agents, training workers) notice the lost
driver only after their own timeouts, about a minute on this machine. So a driver that starts an
embedded Ray also starts this watchdog, a small process in a session of its own (a signal to the
driver's process group does not reach it) that knows the driver and the processes Ray started for
it. When the driver is gone it stops those processes and all their descendants: SIGTERM, then
SIGKILL after a grace period. Processes are identified by PID and start time, so a PID the system
hands out again is never touched. Linux only (it reads /proc); elsewhere nothing is started.

This module imports only the standard library: it runs as ``python -m nasbench.search.watchdog``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.5
GRACE_S = 3.0

Proc = tuple[int, str]  # (pid, start time in clock ticks since boot)


def start(driver: int | None = None) -> subprocess.Popen | None:
    """Watch ``driver`` (this process) and the processes it has started so far, i.e. its Ray."""
    driver = driver or os.getpid()
    roots = [pid for pid, parent in _parents().items() if parent == driver]
    if not roots or not Path("/proc/self/stat").exists():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "nasbench.search.watchdog", str(driver), *map(str, roots)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(watchdog: subprocess.Popen | None) -> None:
    """The driver shut its Ray down itself: the watchdog is not needed any more."""
    if watchdog is not None and watchdog.poll() is None:
        watchdog.terminate()
        watchdog.wait()


def watch(driver: Proc, roots: list[Proc]) -> None:
    # The tree is followed while the driver lives: Ray ties its GCS and raylet to the driver's
    # life, so once the driver is gone their children (agents, workers) have been re-parented
    # and can no longer be found from them.
    # A worker the raylet started in the last instant is found by the session folder its
    # command line names (Ray names the folder after the driver's PID).
    session = re.compile(rf"/session_[0-9_-]+_{driver[0]}/".encode())
    known = roots
    while _alive(driver):
        known = [p for p in {*known, *_tree(roots)} if _alive(p)]
        time.sleep(POLL_S)
    victims = _tree([p for p in {*known, *_of_session(session)} if _alive(p)])
    for pid, _ in victims:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(_alive(v) for v in victims):
        time.sleep(0.1)
    for v in victims:
        if _alive(v):
            _signal(v[0], signal.SIGKILL)


def _tree(roots: list[Proc]) -> list[Proc]:
    """``roots`` and every live descendant of theirs."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = list(roots), [pid for pid, _ in roots]
    while todo:
        for child in children.get(todo.pop(), []):
            start_time = _start_time(child)
            if start_time is not None:
                found.append((child, start_time))
                todo.append(child)
    return found


def _of_session(session: re.Pattern[bytes]) -> list[Proc]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            matched = session.search(cmdline.read_bytes()) is not None
        except OSError:
            continue
        pid = int(cmdline.parent.name)
        if matched and (start_time := _start_time(pid)) is not None:
            found.append((pid, start_time))
    return found


def _parents() -> dict[int, int]:
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _fields(stat)
        if fields is not None:
            out[int(stat.parent.name)] = int(fields[1])
    return out


def _fields(stat: Path) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...), None if gone."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    fields = _fields(Path(f"/proc/{pid}/stat"))
    if fields is None or fields[0] == "Z":  # a zombie has exited; only its parent's wait is missing
        return None
    return fields[19]  # field 22 of stat: start time in clock ticks after boot


def _alive(proc: Proc) -> bool:
    return _start_time(proc[0]) == proc[1]


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pids = [int(a) for a in argv]
    procs = [(pid, _start_time(pid)) for pid in pids]
    known = [(pid, start_time) for pid, start_time in procs if start_time is not None]
    if not procs or procs[0][1] is None:
        return 0  # the driver is already gone; its Ray went with it or never started
    watch(known[0], known[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
