"""A study has one live driver, and a signal stops it cleanly (real processes, real signals).

- A second ``nasbench search`` of a study that is running is refused with one line naming the
  running driver, and touches none of its trials (SQLite and PostgreSQL); two launched at the
  same instant end with one driver, not a raw ``UNIQUE constraint failed``.
- ``status`` says the driver is alive while it runs (gone after ``kill -9``, and nothing of the
  killed driver's Ray left 15 s later: ``test_resume.py``).
- Ctrl-C (SIGINT to the foreground process group) and SIGTERM stop the search promptly: running
  trials interrupted with the signal named, no final stage, exit 130 / 143, status
  "interrupted"; the same command then resumes exactly as after ``kill -9``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.search.helpers import quick_study, session_processes

pytestmark = pytest.mark.slow  # real searches in real processes

NASBENCH = [sys.executable, "-m", "nasbench.cli"]
BUDGET = 6
PG = os.environ.get("NASBENCH_TEST_POSTGRES_URL")
# Four epochs on 60% of the training split: a trial runs several seconds, long enough to be caught
# running. With two, a small network in a reused (warm) actor trained in under a second and a CI run
# once saw every trial end before the signal's stop reached it.
SLOW_TRIALS = "{epochs: 4, train_fraction: 0.6}"


def search_trials(url: str, study: str) -> list[tuple]:
    """(number, state, digest, failure_reason, stage) of the study's trials."""
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            return [
                tuple(r)
                for r in con.execute(
                    text(
                        "select t.number, t.state, a.digest, t.failure_reason, t.stage from nb_trials t "
                        "join nb_studies s using (study_id) "
                        "left join nb_architectures a using (architecture_id) "
                        "where s.name = :name order by t.stage, t.number"
                    ),
                    {"name": study},
                )
            ]
    except Exception:  # tables not created yet
        return []
    finally:
        engine.dispose()


def launch(study: Path, url: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*NASBENCH, "search", str(study), "--db", url],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        cwd=study.parent,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )


def wait_running(url: str, study: str, driver: subprocess.Popen, complete: int = 0, timeout: float = 600) -> None:
    """Until the study has ``complete`` finished search trials and one running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the driver ended before the test could act"
        states = [r[1] for r in search_trials(url, study) if r[4] == "search"]
        if states.count("complete") >= complete and "running" in states:
            return
        time.sleep(0.3)
    raise AssertionError("the search never had a trial running")


def run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        NASBENCH + args, capture_output=True, text=True, cwd=cwd, timeout=timeout, env={**os.environ, "COLUMNS": "250"}
    )


def reap(driver: subprocess.Popen) -> None:
    """Leave nothing of a driver's session behind, even when an assertion failed."""
    if driver.poll() is None:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    for pid in session_processes(driver.pid):
        os.kill(pid, signal.SIGKILL)


def assert_budget_trained_once(url: str, study: str, budget: int = BUDGET) -> None:
    rows = [r for r in search_trials(url, study) if r[4] == "search"]
    complete = [r for r in rows if r[1] == "complete"]
    assert len(complete) == budget, rows
    assert len({r[2] for r in complete}) == budget, "an architecture was trained twice"
    assert not [r for r in rows if r[1] in ("running", "failed")], rows


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_second_launch_is_refused_while_the_first_runs(tmp_path, backend):
    if backend == "postgresql" and not PG:
        pytest.skip("NASBENCH_TEST_POSTGRES_URL is not set")
    name = f"one_driver_{backend}_{os.getpid()}"
    url = f"sqlite:///{tmp_path / 'results.db'}" if backend == "sqlite" else str(PG)
    # Long trials (10-15 s here): the first driver must still run when the second has started up.
    study = quick_study(tmp_path, name, sampler="{name: random}", budget="{trials: 2}", fidelity="{epochs: 30}")
    first = launch(study, url, tmp_path / "first.log")
    try:
        wait_running(url, name, first)
        second = run(["search", str(study), "--db", url], tmp_path, timeout=300)
        assert second.returncode == 2, second.stdout + second.stderr
        message = second.stderr.strip()
        assert f"study '{name}' already has a live driver: PID {first.pid}" in message
        assert len(message.splitlines()) == 1 and "Traceback" not in second.stdout + second.stderr
        # The refused driver touched nothing: the running trial is still running, none re-queued.
        after = search_trials(url, name)
        assert [r for r in after if r[1] == "interrupted"] == []
        status = run(["status", name, "--db", url], tmp_path)
        assert status.returncode == 0, status.stderr
        assert f"driver: PID {first.pid} on host" in status.stdout and "alive" in status.stdout
        assert first.wait(timeout=900) == 0, (tmp_path / "first.log").read_text()
    finally:
        reap(first)
    assert "UpdateFinishedTrialError" not in (tmp_path / "first.log").read_text()
    assert_budget_trained_once(url, name, budget=2)
    status = run(["status", name, "--db", url], tmp_path)
    assert "finished" in status.stdout and "driver:" not in status.stdout  # the lease was released


def test_two_launches_at_the_same_instant_give_one_driver(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = quick_study(tmp_path, "twins", sampler="{name: random}", budget="{trials: 2}")
    drivers = [launch(study, url, tmp_path / f"twin{i}.log") for i in range(2)]
    try:
        codes = sorted(d.wait(timeout=900) for d in drivers)
    finally:
        for d in drivers:
            reap(d)
    logs = [(tmp_path / f"twin{i}.log").read_text() for i in range(2)]
    assert codes == [0, 2], logs
    refused = next(log for d, log in zip(drivers, logs, strict=True) if d.returncode == 2)
    assert "already has a live driver" in refused and "UNIQUE" not in refused and "Traceback" not in refused
    rows = [r for r in search_trials(url, "twins") if r[4] == "search"]
    assert [r[1] for r in rows] == ["complete", "complete"]


# Resuming reads only the interrupted rows, whichever signal wrote them: it is run after one of the two.
@pytest.mark.parametrize(
    ("sig", "code", "named", "resume"),
    [(signal.SIGINT, 130, "SIGINT (Ctrl-C)", True), (signal.SIGTERM, 143, "SIGTERM", False)],
)
def test_a_signal_stops_the_search_and_the_same_command_resumes_it(tmp_path, sig, code, named, resume):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = quick_study(
        tmp_path,
        "signalled",
        sampler="{name: random}",
        budget="{trials: 4}",
        fidelity=SLOW_TRIALS,
        final="{top_k: 1, fidelity: {epochs: 1, train_fraction: 0.3}}",
    )
    driver = launch(study, url, tmp_path / "first.log")
    try:
        wait_running(url, "signalled", driver, complete=2)
        sent = time.monotonic()
        # Ctrl-C reaches the whole foreground process group; SIGTERM (kill, systemd) the driver alone.
        if sig == signal.SIGINT:
            os.killpg(driver.pid, sig)
        else:
            os.kill(driver.pid, sig)
        assert driver.wait(timeout=120) == code, (tmp_path / "first.log").read_text()
        stopped_in = time.monotonic() - sent
    finally:
        reap(driver)
    log = (tmp_path / "first.log").read_text()
    assert "Traceback" not in log and "final training" not in log
    assert stopped_in < 60, f"the search took {stopped_in:.0f} s to stop"
    rows = search_trials(url, "signalled")
    interrupted = {r[0]: r[2] for r in rows if r[1] == "interrupted"}
    done_before = {r[0]: r for r in rows if r[1] == "complete"}
    # A string, which pytest shows whole (it shortens other messages).
    assert interrupted, f"stopped {stopped_in:.1f} s after the signal; trials {rows}; log:\n{log}"
    assert all(f"interrupted by {named}" in r[3] for r in rows if r[1] == "interrupted")
    assert not [r for r in rows if r[4] == "final" or r[1] in ("running", "failed")], rows
    status = run(["status", "signalled", "--db", url], tmp_path)
    assert "signalled: interrupted" in status.stdout, status.stdout
    if not resume:
        return

    again = run(["search", str(study), "--db", url], tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(interrupted)} interrupted trial(s) re-queued" in again.stdout
    after = search_trials(url, "signalled")
    assert_budget_trained_once(url, "signalled", budget=4)
    by_number = {r[0]: r for r in after}
    for number, row in done_before.items():  # kept, not trained again
        assert by_number[number] == row
    searched_again = {r[2] for r in after if r[4] == "search" and r[1] == "complete" and r[0] > max(interrupted)}
    assert set(interrupted.values()) <= searched_again  # the interrupted architectures trained on resume
    assert len([r for r in after if r[4] == "final"]) == 1  # top_k: 1, once
