"""A study with the supernet evaluator, from the CLI: the supernet trains once (its curve stored,
its checkpoint in the database), the search scores paths by shared weights, the final stage
re-trains from scratch, the report keeps the two apart, and a driver killed during the supernet's
training resumes it where it stopped. Bad evaluator settings stop before anything is written."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasbench.tabular.table import SHIPPED_DIR
from tests.conftest import write_study
from tests.search.helpers import session_processes
from tests.test_bad_input import no_study_rows, one_sentence_error, run_cli

NASBENCH = [sys.executable, "-m", "nasbench.cli"]
EPOCHS = 15  # supernet epochs: long enough (~0.5 s each) to be caught training


def supernet_study(folder: Path, **overrides: str) -> Path:
    fields = {
        "name": "shared",
        "space": str(SHIPPED_DIR / "mnist1d_tiny_space.yaml"),
        "data": "{name: mnist1d, val_size: 500}",
        "sampler": "{name: tpe}",
        "evaluator": f"{{name: supernet, epochs: {EPOCHS}, calibration_batches: 5}}",
        "budget": "{trials: 4}",
        "recipe": "{batch_size: 100}",
        "final": "{top_k: 1, fidelity: {epochs: 1}}",
    }
    return write_study(folder, **{**fields, **overrides})


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def checkpoint_epoch(db: Path) -> int:
    try:
        got = rows(db, "select epoch from nb_checkpoints")
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    return got[0][0] if got else 0


@pytest.mark.slow
def test_a_supernet_study_runs_resumes_after_kill_9_and_reports_shared_weights_apart(tmp_path):
    db = tmp_path / "results.db"
    url = f"sqlite:///{db}"
    study = supernet_study(tmp_path)
    log = open(tmp_path / "first.log", "w")
    driver = subprocess.Popen([*NASBENCH, "search", str(study), "--db", url], stdout=log, stderr=subprocess.STDOUT,
                              cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while checkpoint_epoch(db) < 3:
            assert driver.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the supernet never saved its third epoch"
            time.sleep(0.2)
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    reached = checkpoint_epoch(db)
    assert 3 <= reached < EPOCHS, "killed too late to test the resume"
    deadline = time.monotonic() + 15
    while session_processes(driver.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in session_processes(driver.pid):
        os.kill(pid, signal.SIGKILL)

    again = subprocess.run([*NASBENCH, "search", str(study), "--db", url], capture_output=True, text=True,
                           cwd=tmp_path, timeout=900, env={**os.environ, "COLUMNS": "200"})
    assert again.returncode == 0, again.stdout + again.stderr
    resumed_at = int(again.stdout.split("resuming at epoch ")[1].split(")")[0])
    assert resumed_at >= reached + 1  # the killed run's finished epochs were kept, not trained again

    # The supernet's curve: every epoch once, over both sessions.
    curve = rows(db, "select e.epoch from nb_epochs e join nb_trials t using (trial_id) "
                     "where t.stage = 'supernet' order by e.epoch")
    assert [e for (e,) in curve] == list(range(1, EPOCHS + 1))
    assert rows(db, "select state, evaluator from nb_trials where stage = 'supernet'") == [("complete", "supernet")]
    searched = rows(db, "select state, evaluator, val_acc, test_acc from nb_trials where stage = 'search'")
    assert [s for s in searched if s[0] == "complete"] and {s[1] for s in searched} == {"supernet"}
    assert all(s[3] is None for s in searched)  # shared-weight scores never touch the test set
    final = rows(db, "select evaluator, test_acc from nb_trials where stage = 'final'")
    assert len(final) == 1 and final[0][0] == "scratch" and final[0][1] is not None

    status = subprocess.run([*NASBENCH, "status", "shared", "--db", url], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert "shared-weight score" in status.stdout and "supernet" in status.stdout, status.stdout

    out = tmp_path / "reports"
    report = subprocess.run([*NASBENCH, "report", "shared", "--db", url, "--out", str(out)], capture_output=True,
                            text=True)
    assert report.returncode == 0, report.stderr
    text = (out / "shared.md").read_text()
    assert "## Shared-weight scores (supernet)" in text
    board = text.split("## Leaderboard")[1].split("##")[0]
    assert board.count("| searched |") == 1  # only the re-trained path: scores are not ranked with accuracies
    assert f"supernet (shared weights): trained {EPOCHS} epochs" in text


@pytest.mark.parametrize("override, expect", [
    ({"evaluator": "{name: supernet, epochs: 0}"}, "field 'evaluator.epochs'"),
    ({"scheduler": "{name: asha}"}, "nothing to stop with the supernet evaluator"),
    ({"evaluator": "{name: oneshot}"}, "field 'evaluator.name'"),
])
def test_bad_supernet_settings_stop_before_anything_is_written(tmp_path, override, expect):
    db = tmp_path / "r.db"
    study = supernet_study(tmp_path, **override)
    result = run_cli(["search", str(study), "--db", f"sqlite:///{db}"], tmp_path)
    assert result.returncode == 2
    assert expect in one_sentence_error(result.stderr)
    assert no_study_rows(db)


def test_a_space_the_supernet_cannot_cover_is_refused_in_one_line(tmp_path):
    space = tmp_path / "resized.yaml"
    shipped = (SHIPPED_DIR / "mnist1d_tiny_space.yaml").read_text()
    space.write_text(shipped.replace("ndim: [1]", "ndim: [1]\nresolution: [null, 32]"))
    db = tmp_path / "r.db"
    study = supernet_study(tmp_path, space=str(space))
    result = run_cli(["search", str(study), "--db", f"sqlite:///{db}"], tmp_path)
    assert result.returncode == 2
    text = one_sentence_error(result.stderr)
    assert "field 'evaluator'" in text and "one input size" in text
    assert no_study_rows(db)
