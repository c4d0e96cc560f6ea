"""Failing trials are data: recorded with reason and traceback, the search goes on, and a study
whose trials keep failing stops with a clear message. Plus provenance on every trial."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from nasbench.core.provenance import PACKAGES
from nasbench.data import load_dataset
from tests.search.helpers import ROOT, quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


NASBENCH = [sys.executable, "-m", "nasbench.cli"]


@pytest.fixture(scope="module")
def diverging(tmp_path_factory, ray_local):
    # SGD at lr 1e30 blows every network up in its first steps: activations overflow, the loss is NaN.
    folder = tmp_path_factory.mktemp("diverge")
    url = f"sqlite:///{folder / 'results.db'}"
    study = quick_study(folder, "diverge", sampler="{name: random}", budget="{trials: 8}",
                        recipe="{optimizer: sgd, lr: 1.0e+30, batch_size: 64}", max_consecutive_failures="3")
    out, df = search(study, url)
    return out, df, url, study


def test_diverging_trials_are_recorded_failed_with_reason_and_traceback(diverging):
    _out, df, url, _ = diverging
    failed = df[df["state"] == "failed"]
    assert len(failed) >= 3
    assert failed["failure_reason"].str.match(r"diverged: training loss became (nan|inf|-inf|non-finite)").all()
    with create_engine(url).connect() as con:
        tracebacks = [tb for (tb,) in con.execute(text("select traceback from nb_trials where state = 'failed'"))]
    assert all("DivergenceError" in tb and "Traceback" in tb for tb in tracebacks)


def test_search_goes_on_after_a_failure_then_stops_after_n_in_a_row(diverging):
    out, df, _url, _ = diverging
    # Trials kept being started after the first failure, until three had failed in a row.
    assert (df["state"] == "failed").sum() >= 3 and len(df) < 8
    assert set(df["state"]) <= {"failed", "interrupted"}
    assert out.stopped_reason == "3 trials failed in a row; the last failure reasons are in `nasbench status diverge`"


def test_cli_status_and_exit_code_show_the_failures(diverging, tmp_path):
    _out, _df, url, study = diverging
    status = subprocess.run([*NASBENCH, "status", "diverge", "--db", url], capture_output=True, text=True,
                            cwd=tmp_path, env={"COLUMNS": "250", "PATH": ""})
    assert status.returncode == 0, status.stderr
    assert "stopped" in status.stdout and "failed" in status.stdout
    assert "diverged: training loss became" in status.stdout
    # Re-running the stopped study: one more failure in a row stops it again, exit status 1.
    again = subprocess.run([*NASBENCH, "search", str(study), "--db", url], capture_output=True, text=True,
                           cwd=tmp_path)
    assert again.returncode == 1
    assert "failed in a row" in again.stdout


def test_every_trial_carries_its_provenance(diverging):
    _out, _df, url, study = diverging
    with create_engine(url).connect() as con:
        rows = con.execute(text("select provenance_json, seed from nb_trials")).fetchall()
        study_hash = con.execute(text("select study_file_hash from nb_studies where name = 'diverge'")).scalar()
    assert rows
    digits_hash = load_dataset("digits").content_hash()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for prov_json, seed in rows:
        prov = json.loads(prov_json) if isinstance(prov_json, str) else prov_json
        assert set(prov["packages"]) == set(PACKAGES) and prov["packages"]["torch"][0].isdigit()
        assert prov["dataset_hash"] == digits_hash
        assert prov["study_file_hash"] == study_hash == hashlib.sha256(study.read_bytes()).hexdigest()
        assert prov["seed"] == seed == 0 and prov["driver_host"]
        assert prov["git_revision"] is None  # the study lives outside any git repository
        assert prov["nasbench_revision"].removesuffix("-dirty") == head


def test_a_search_whose_every_trial_failed_exits_non_zero_and_says_why(tmp_path):
    # Fewer trials than the failure limit: the search spends its budget, but nothing trained.
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = quick_study(tmp_path, "doomed", sampler="{name: random}", budget="{trials: 2}",
                        recipe="{optimizer: sgd, lr: 1.0e+30, batch_size: 64}")
    run = subprocess.run([*NASBENCH, "search", str(study), "--db", url], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "COLUMNS": "250"}, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "search failed: all 2 trials failed (trial " in run.stdout
    assert "diverged: training loss became" in run.stdout
    status = subprocess.run([*NASBENCH, "status", "doomed", "--db", url], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "COLUMNS": "250"})
    assert "doomed: stopped" in status.stdout


def test_a_long_traceback_is_stored_with_its_first_line_and_its_exception():
    # A Lightning stack runs to many frames: the stored text must keep "Traceback" and the cause.
    from nasbench.search.messages import TRACEBACK_LIMIT, clip_traceback

    frames = "".join(f'  File "/x/lightning/loop_{i}.py", line {i}, in run\n    self.advance()\n' for i in range(200))
    text = "Traceback (most recent call last):\n" + frames + "nasbench.train.run.DivergenceError: loss became nan\n"
    clipped = clip_traceback(text)
    assert len(text) > TRACEBACK_LIMIT >= len(clipped)
    assert clipped.startswith("Traceback (most recent call last):\n")
    assert clipped.endswith("DivergenceError: loss became nan\n")
    assert clip_traceback("Traceback: short\n") == "Traceback: short\n"
