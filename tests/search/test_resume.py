"""Kill -9 the driver mid-search, run the same command again: the study continues.

Finished trials are neither lost nor repeated, the trials that were running are re-queued with
the same architecture, and the trial budget counts what the killed run had spent.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from tests.search.helpers import quick_study, session_processes

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


NASBENCH = [sys.executable, "-m", "nasbench.cli"]
BUDGET = 6


def trials(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("select t.number, t.state, a.digest, t.val_acc, t.trial_id, t.finished_at "
                           "from nb_trials t join nb_architectures a using (architecture_id) "
                           "where t.stage = 'search' order by t.number").fetchall()


def wait_for(db: Path, driver: subprocess.Popen, timeout: float = 600) -> list[tuple]:
    """Poll the database until at least 2 trials are complete and one is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the driver ended before it could be killed"
        if db.exists():
            try:
                rows = trials(db)
            except sqlite3.OperationalError:  # tables not created yet
                rows = []
            states = [r[1] for r in rows]
            if states.count("complete") >= 2 and "running" in states:
                return rows
        time.sleep(0.3)
    raise AssertionError("the search never had 2 complete trials and 1 running")


def kill_driver(driver: subprocess.Popen) -> None:
    """SIGKILL the driver alone, as the OOM killer or `kill -9 PID` would: its Ray must follow it."""
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()


def test_kill_9_then_rerun_continues_the_study(tmp_path):
    db = tmp_path / "results.db"
    url = f"sqlite:///{db}"
    # Two epochs on 60% of the training split: a trial runs a few seconds, long enough to be caught running.
    study = quick_study(tmp_path, "resume", sampler="{name: random}", budget=f"{{trials: {BUDGET}}}",
                        fidelity="{epochs: 2, train_fraction: 0.6}")
    log = open(tmp_path / "first.log", "w")
    driver = subprocess.Popen([*NASBENCH, "search", str(study), "--db", url], stdout=log, stderr=subprocess.STDOUT,
                              cwd=tmp_path, start_new_session=True)
    try:
        before = wait_for(db, driver)
    finally:
        kill_driver(driver)

    # Ray's own processes share the driver's fate within seconds (the watchdog): nothing lingers.
    deadline = time.monotonic() + 15
    while session_processes(driver.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = session_processes(driver.pid)
    for pid in left:  # leave the machine clean even when the assertion below fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed driver still running: {left}"

    # `status` tells the driver is gone (its lease row stays, its heartbeat stops).
    status = subprocess.run([*NASBENCH, "status", "resume", "--db", url], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "250"})
    assert f"driver: PID {driver.pid} on host" in status.stdout and "gone" in status.stdout, status.stdout

    done_before = {r[0]: r for r in before if r[1] == "complete"}
    running_before = {r[0]: r[2] for r in trials(db) if r[1] == "running"}
    assert len(done_before) >= 2 and running_before

    again = subprocess.run([*NASBENCH, "search", str(study), "--db", url], capture_output=True, text=True,
                           cwd=tmp_path, timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(running_before)} interrupted trial(s) re-queued" in again.stdout

    after = {r[0]: r for r in trials(db)}
    complete = [r for r in after.values() if r[1] == "complete"]
    assert len(complete) == BUDGET  # the budget counted the trials finished before the kill
    assert not [r for r in after.values() if r[1] in ("running", "failed", "pruned")]
    for number, row in done_before.items():  # kept as they were: not lost, not trained again
        assert after[number] == row
    for number, digest in running_before.items():  # interrupted, then the same architecture re-trained
        assert after[number][1] == "interrupted"
        assert any(r[2] == digest and r[0] > max(running_before) for r in complete)

    ostudy = optuna.load_study(study_name="resume", storage=url)
    requeued = [t for t in ostudy.trials if "requeued_from" in t.user_attrs]
    assert sorted(t.user_attrs["requeued_from"] for t in requeued) == sorted(running_before)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in requeued)
    assert all(ostudy.trials[n].state == optuna.trial.TrialState.FAIL for n in running_before)
    with sqlite3.connect(db) as con:
        assert con.execute("select elapsed_s from nb_studies").fetchone()[0] > 0

    status = subprocess.run([*NASBENCH, "status", "resume", "--db", url], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "250"})
    assert status.returncode == 0 and "interrupted" in status.stdout and "re-queued" in status.stdout
