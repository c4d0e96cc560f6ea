"""Objectives and constraints: a Pareto search with NSGA-II, params constraints checked in the
driver before training, latency constraints measured on the worker before training."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.search.helpers import optuna_study, quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


PARAMS_LIMIT = 60_000  # about a third of the tiny space's networks on digits fit under it


def dominates(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """(val_acc up, params down, latency down): a is no worse everywhere and better somewhere."""
    no_worse = a[0] >= b[0] and a[1] <= b[1] and a[2] <= b[2]
    return no_worse and (a[0] > b[0] or a[1] < b[1] or a[2] < b[2])


@pytest.fixture(scope="module")
def pareto_run(tmp_path_factory, ray_local):
    folder = tmp_path_factory.mktemp("pareto")
    url = f"sqlite:///{folder / 'results.db'}"
    study = quick_study(folder, "pareto", sampler="{name: nsga2, options: {population_size: 3}}",
                        objectives="[val_acc, params, latency_ms]", constraints=f"{{params: {PARAMS_LIMIT}}}",
                        budget="{trials: 6}")
    out, df = search(study, url)
    return out, df[df["stage"] == "search"], url


def test_stored_pareto_front_is_non_dominated(pareto_run):
    out, df, url = pareto_run
    done = df[df["state"] == "complete"]
    assert out.stopped_reason is None and len(done) == 6  # the budget counts trained trials only
    assert done["latency_ms"].gt(0).all() and done["params"].le(PARAMS_LIMIT).all()
    point = {int(r.number): (r.val_acc, r.params, r.latency_ms) for r in done.itertuples()}

    ostudy = optuna_study(url, out.study)
    for t in ostudy.trials:  # Optuna was told exactly what the store holds
        if t.number in point:
            assert t.values == pytest.approx(list(point[t.number]))
    front = {t.number for t in ostudy.best_trials}
    assert front and front <= set(point)
    for n in front:
        assert not any(dominates(point[m], point[n]) for m in point), f"front trial {n} is dominated"
    for m in set(point) - front:
        assert any(dominates(point[n], point[m]) for n in front), f"trial {m} is off the front but undominated"


def test_params_constraint_rejects_before_training_with_the_reason(pareto_run):
    out, df, url = pareto_run
    bad = df[df["state"] == "infeasible"]
    assert len(bad) >= 1
    assert bad["params"].gt(PARAMS_LIMIT).all() and bad["epochs_run"].eq(0).all()
    for r in bad.itertuples():
        assert r.failure_reason == f"params {r.params:,} exceeds the constraint {PARAMS_LIMIT:,}"
    with create_engine(url).connect() as con:
        epochs = con.execute(text("select count(*) from nb_epochs e join nb_trials t using (trial_id) "
                                  "where t.state = 'infeasible'")).scalar()
    assert epochs == 0
    trials = {t.number: t for t in optuna_study(url, out.study).trials}
    assert all(max(trials[int(n)].constraints.values()) > 0 for n in bad["number"])  # samplers learn from it
    # ... and in the list form optuna-dashboard reads, so it shows them as infeasible.
    assert all(trials[int(n)].system_attrs["constraints"] == [1.0] for n in bad["number"])


def test_latency_constraint_is_measured_on_the_worker_and_stops_a_hopeless_study(tmp_path, sqlite_url, ray_local):
    study = quick_study(tmp_path, "too-slow", sampler="{name: random}", constraints="{latency_ms: 0.000001}",
                        budget="{trials: 3}", max_consecutive_failures="2")
    out, df = search(study, sqlite_url)
    assert out.stopped_reason is not None and "exceeded the latency constraint" in out.stopped_reason
    assert len(df) >= 2 and (df["state"] == "infeasible").all()
    for r in df.itertuples():
        assert r.latency_ms > 0 and r.epochs_run == 0
        assert r.failure_reason == f"latency_ms {r.latency_ms:.3f} exceeds the constraint 1e-06"
