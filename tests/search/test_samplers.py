"""Every sampler by name: a short real search on digits, plus what each sampler promises."""

from __future__ import annotations

import optuna
import pytest

from nasbench.errors import ConfigError
from nasbench.search.evolution import PARENT_KEY
from nasbench.search.runner import prepare
from nasbench.search.samplers import create_sampler, sampler_names
from nasbench.search.searcher import set_feasibility
from nasbench.space.spec import load_space
from tests.search.helpers import NUMERIC_SPACE, numeric_space, optuna_study, quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


SAMPLERS = {
    "random": "{name: random}",
    "tpe": "{name: tpe, options: {n_startup_trials: 2}}",
    "gp": "{name: gp, options: {n_startup_trials: 2}}",
    "cmaes": "{name: cmaes}",
    "nsga2": "{name: nsga2, options: {population_size: 2}}",
    "evolution": "{name: evolution, options: {population_size: 2, sample_size: 2}}",
}


def test_every_registered_sampler_is_tested():
    assert sorted(SAMPLERS) == sampler_names()


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_short_search_with_each_sampler(tmp_path, sqlite_url, ray_local, name):
    trials = 4 if name == "evolution" else 3
    overrides = {"sampler": SAMPLERS[name], "budget": f"{{trials: {trials}}}"}
    if name == "cmaes":
        overrides["space"] = numeric_space(tmp_path)
    if name == "nsga2":
        overrides["objectives"] = "[val_acc, params]"
    out, df = search(quick_study(tmp_path, f"sampler-{name}", **overrides), sqlite_url)

    assert out.stopped_reason is None
    searched = df[df["stage"] == "search"]
    assert (searched["state"] == "complete").sum() == trials
    assert searched[searched["state"] == "complete"]["val_acc"].between(0.05, 1).all()
    finished = [t for t in optuna_study(sqlite_url, out.study).trials if t.state.is_finished()]
    assert {t.number for t in finished} >= set(searched["number"])
    if name == "evolution":
        # Two trials run at once; when the fourth is asked two have finished, so the population
        # (size 2) is full and the fourth is a mutation of a stored parent.
        last = optuna_study(sqlite_url, out.study).trials[3]
        assert PARENT_KEY in last.system_attrs


def test_cmaes_refuses_a_space_with_string_choices(tmp_path):
    path = quick_study(tmp_path, sampler="{name: cmaes}")
    with pytest.raises(ConfigError, match=r"sampler cmaes needs a space of evenly spaced numbers, but parameter "
                                          r"'s0\.block' is a choice among categories plain, residual;"):
        prepare(str(path))
    assert not (tmp_path / "x.db").exists() or (tmp_path / "x.db").stat().st_size == 0


def test_cmaes_refuses_unevenly_spaced_numbers(tmp_path):
    # Dilations 1, 2, 4 are categories of the numbers (a range with a step would give 3): CMA-ES
    # would only ever draw them at random.
    space = tmp_path / "dilated.yaml"
    space.write_text(NUMERIC_SPACE.replace("kernel: [3, 5]", "kernel: [3, 5], dilation: [1, 2, 4]"))
    path = quick_study(tmp_path, sampler="{name: cmaes}", space=str(space))
    with pytest.raises(ConfigError, match=r"but parameter 's0\.dilation' is a choice among categories 1, 2, 4;"):
        prepare(str(path))


@pytest.mark.parametrize("sampler, message", [
    ("{name: annealing}", "unknown sampler 'annealing'; choose one of: cmaes, evolution, gp, nsga2, random, tpe"),
    ("{name: evolution, options: {population_size: 1}}", "field 'sampler.options': population_size must be >= 2"),
    ("{name: tpe, options: {warmup: 3}}", "field 'sampler.options'"),
])
def test_bad_sampler_settings_are_named(tmp_path, sampler, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        prepare(str(quick_study(tmp_path, sampler=sampler)))


def _propose(study: optuna.Study) -> tuple[optuna.Trial, dict[str, float]]:
    trial = study.ask()
    return trial, {"x": trial.suggest_float("x", 0, 1), "k": trial.suggest_categorical("k", [3, 5, 7])}


@pytest.mark.parametrize("name", ["tpe", "gp"])
def test_refusals_do_not_use_up_the_model_samplers_start_up(tmp_path, name):
    """Refusals (infeasible, told at once with the worst value) leave TPE and GP sampling at random
    until ``n_startup_trials`` candidates were trained; after that their model proposes."""
    space = load_space(numeric_space(tmp_path))
    sampler = create_sampler(name, seed=0, options={"n_startup_trials": 3}, space=space)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    reference = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(6):  # twice the start-up, all refused
        trial, params = _propose(study)
        assert params == _propose(reference)[1]
        set_feasibility(trial, False)
        study.tell(trial, 0.0)
    for value in (0.2, 0.9, 0.5):  # three trained: the start-up ends
        trial, params = _propose(study)
        assert params == _propose(reference)[1]
        set_feasibility(trial, True)
        study.tell(trial, value)
    assert _propose(study)[1] != _propose(reference)[1]
