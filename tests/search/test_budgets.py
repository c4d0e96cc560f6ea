"""Budgets by wall time, by trial count, or both; the time spent is kept across runs."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.search.helpers import quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


def test_time_budget_stops_the_search_and_counts_across_runs(tmp_path, sqlite_url, ray_local):
    study = quick_study(tmp_path, "timed", sampler="{name: random}", budget="{time: 15s}",
                        fidelity="{epochs: 2, train_fraction: 0.5}")
    out, df = search(study, sqlite_url)
    assert out.stopped_reason is None
    assert len(df) >= 1 and "running" not in set(df["state"])  # trials cut by the clock are closed
    cut = df[df["state"] == "interrupted"]
    assert cut["failure_reason"].str.startswith("the search stopped (time budget").all()
    with create_engine(sqlite_url).connect() as con:
        elapsed, status = con.execute(text("select elapsed_s, status from nb_studies")).one()
    assert elapsed >= 15 and status == "finished"

    log = tmp_path / "second.log"
    _again, df2 = search(study, sqlite_url, log=log)
    assert len(df2) == len(df) and "search budget already spent" in log.read_text()


def test_trials_and_time_together_stop_at_whichever_comes_first(tmp_path, sqlite_url, ray_local):
    out, _df = search(quick_study(tmp_path, "both", sampler="{name: random}", budget="{trials: 2, time: 1h}"),
                     sqlite_url)
    assert out.counts == {"complete": 2}
