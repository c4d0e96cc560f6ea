"""The search end to end against a real PostgreSQL server (the team/cluster database).

Set NASBENCH_TEST_POSTGRES_URL (``scripts/start_postgres.sh`` starts a server and prints one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import optuna
import pytest
from sqlalchemy import create_engine, inspect, text

from nasbench.store import load_epochs, load_trials
from tests.search.helpers import quick_study

URL = os.environ.get("NASBENCH_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="NASBENCH_TEST_POSTGRES_URL is not set (scripts/start_postgres.sh "
                                       "starts a local server and prints the URL)"),
]
NASBENCH = [sys.executable, "-m", "nasbench.cli"]


def test_search_resume_and_query_on_postgresql(tmp_path):
    name = f"pg-{uuid.uuid4().hex[:8]}"  # the server outlives the test: one study per run
    study = quick_study(tmp_path, name, sampler="{name: tpe, options: {n_startup_trials: 2}}",
                        budget="{trials: 3}")
    first = subprocess.run([*NASBENCH, "search", str(study), "--db", URL], capture_output=True, text=True,
                           cwd=tmp_path, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 complete" in first.stdout

    df = load_trials(URL, name)
    assert len(df) == 3 and (df["state"] == "complete").all() and df["val_acc"].between(0, 1).all()
    assert set(load_epochs(URL, name)["number"]) == set(df["number"])
    ostudy = optuna.load_study(study_name=name, storage=URL)  # Optuna's study, same database
    assert sorted(t.number for t in ostudy.trials if t.state.is_finished()) == sorted(df["number"])
    tables = set(inspect(create_engine(URL)).get_table_names())
    assert {"nb_studies", "nb_trials", "nb_epochs", "nb_architectures", "studies", "trials"} <= tables

    # A larger budget continues the same study on the server: trials 0-2 kept, two more trained.
    study.write_text(study.read_text().replace("budget: {trials: 3}", "budget: {trials: 5}"))
    again = subprocess.run([*NASBENCH, "search", str(study), "--db", URL], capture_output=True, text=True,
                           cwd=tmp_path, timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    df2 = load_trials(URL, name)
    assert len(df2) == 5 and (df2["state"] == "complete").all()
    assert df2.set_index("number").loc[list(df["number"]), "val_acc"].tolist() == df["val_acc"].tolist()

    q = subprocess.run([*NASBENCH, "query", "--study", name, "--format", "csv", "--db", URL],
                       capture_output=True, text=True, cwd=tmp_path)
    assert q.returncode == 0 and len(q.stdout.strip().splitlines()) == 6
    with create_engine(URL).connect() as con:
        elapsed = con.execute(text("select elapsed_s from nb_studies where name = :n"), {"n": name}).scalar()
    assert elapsed > 0


def test_unreachable_server_is_one_clear_sentence(tmp_path):
    study = quick_study(tmp_path, "pg-nowhere")
    bad = URL.rsplit("@", 1)[0] + "@127.0.0.1:1/nasbench"
    run = subprocess.run([*NASBENCH, "search", str(study), "--db", bad], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 2
    assert "is unreachable" in run.stderr and "nasbench:***@127.0.0.1:1" in run.stderr
    assert "Traceback" not in run.stderr
