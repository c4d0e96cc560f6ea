"""Issue 17's two driver cases, counted: a second launch while a study runs, and Ctrl-C then resume.

    python benchmarks/driver_cases.py [CHECKOUT]     (default: this checkout)

Runs real ``nasbench search`` processes of a small digits study (budget 6 trials, top_k 1) from
CHECKOUT (put first on PYTHONPATH, so an older commit can be measured with the same venv) and
prints, per case, the exit codes and the trial counts the results database ends with.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 6


def study_file(folder: Path, name: str, epochs: int) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nspace: {ROOT / 'search_spaces' / 'tiny.yaml'}\ndata: {{name: digits, val_size: 0.2}}\n"
        f"sampler: {{name: random}}\nbudget: {{trials: {BUDGET}}}\nfidelity: {{epochs: {epochs}}}\n"
        "recipe: {batch_size: 64}\nresources: {cpu: 1}\nseed: 0\n"
        "final: {top_k: 1, fidelity: {epochs: 1, train_fraction: 0.3}}\n"
    )
    return path


def rows(db: Path) -> list[tuple[str, str, str]]:
    try:
        with sqlite3.connect(db) as con:
            return con.execute(
                "select t.stage, t.state, a.digest from nb_trials t "
                "left join nb_architectures a using (architecture_id)"
            ).fetchall()
    except sqlite3.OperationalError:
        return []


def launch(checkout: Path, study: Path, db: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.Popen(
        [sys.executable, "-m", "nasbench.cli", "search", str(study), "--db", f"sqlite:///{db}"],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        cwd=study.parent,
        env=env,
        start_new_session=True,
    )


def wait_until(db: Path, complete: int, driver: subprocess.Popen) -> None:
    while driver.poll() is None:
        states = [s for stage, s, _ in rows(db) if stage == "search"]
        if states.count("complete") >= complete and "running" in states:
            return
        time.sleep(0.3)
    raise SystemExit("the driver ended before the case could be staged")


def counts(db: Path) -> str:
    r = rows(db)
    search = [x for x in r if x[0] == "search"]
    complete = [x for x in search if x[1] == "complete"]
    twice = len(complete) - len({x[2] for x in complete})
    finals = len([x for x in r if x[0] == "final"])
    return (
        f"{len(complete)} complete search trials for a budget of {BUDGET}, {twice} architectures trained twice, "
        f"{len([x for x in search if x[1] == 'interrupted'])} interrupted, {finals} final rows"
    )


def second_launch(checkout: Path, folder: Path) -> None:
    db = folder / "twice.db"
    study = study_file(folder, "twice", epochs=30)
    first = launch(checkout, study, db, folder / "first.log")
    wait_until(db, 1, first)
    second = launch(checkout, study, db, folder / "second.log")
    codes = first.wait(), second.wait()
    errors = sum(log.read_text().count("UpdateFinishedTrialError") for log in folder.glob("*.log"))
    print(f"second launch: exit codes first {codes[0]}, second {codes[1]}; {counts(db)}; "
          f"{errors} UpdateFinishedTrialError lines")
    print(f"  second driver said: {(folder / 'second.log').read_text().strip().splitlines()[-1][:200]}")


def ctrl_c(checkout: Path, folder: Path) -> None:
    db = folder / "ctrlc.db"
    study = study_file(folder, "ctrlc", epochs=10)
    driver = launch(checkout, study, db, folder / "ctrlc.log")
    wait_until(db, 2, driver)
    sent = time.monotonic()
    os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C: the whole foreground process group
    code = driver.wait()
    print(f"Ctrl-C: exit {code} after {time.monotonic() - sent:.1f} s; {counts(db)}")
    again = launch(checkout, study, db, folder / "resume.log")
    print(f"  re-run: exit {again.wait()}; {counts(db)}")


def main() -> None:
    checkout = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT
    print(f"checkout {checkout}")
    with tempfile.TemporaryDirectory(prefix="nasbench-driver-") as tmp:
        second_launch(checkout, Path(tmp))
        ctrl_c(checkout, Path(tmp))


if __name__ == "__main__":
    main()
