"""Regularised evolution as an Optuna sampler: tournament, one mutation, conditional parameters.

Real Optuna studies (in memory and in SQLite) sampling a real conditional space; the objective is
a cheap deterministic score of the architecture instead of a training, so many generations run
in a second.
"""

from __future__ import annotations

from statistics import mean

import optuna
import pytest

from nasbench.search.evolution import MUTATE_KEY, PARENT_KEY, RegularizedEvolutionSampler
from nasbench.space.architecture import Architecture
from nasbench.space.sample import sample_architecture
from nasbench.space.spec import parse_space

# Conditional: expansion exists only for inverted stages, s2.* only with three stages.
SPACE = parse_space({
    "name": "conditional",
    "num_stages": [2, 3],
    "stage": {"block": ["plain", "inverted", "residual"], "depth": [1, 2, 3], "width": [16, 32, 64],
              "kernel": [3, 5], "expansion": [2, 4, 6], "downsample": ["stride"]},
    "activation": ["relu", "silu"],
})
STRUCTURAL = ("num_stages", ".block")  # mutating these adds or removes conditional parameters


def score(arch: Architecture) -> float:
    return sum(s.width * s.depth for s in arch.stages) / 1000 + (arch.activation == "silu") * 0.05


def evolve(sampler: RegularizedEvolutionSampler, n: int, storage: str | None = None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, score(sample_architecture(trial, SPACE)))
    return study


@pytest.mark.parametrize("population, sample", [(8, 3), (5, 5), (4, 1)])
def test_each_child_is_its_tournament_parent_with_one_choice_mutated(population, sample):
    study = evolve(RegularizedEvolutionSampler(population_size=population, sample_size=sample, seed=1), 60)
    trials = study.trials
    assert all(PARENT_KEY not in t.system_attrs for t in trials[:population])  # random start-up
    for child in trials[population:]:
        parent = child.system_attrs[PARENT_KEY]
        mutated = child.system_attrs[MUTATE_KEY]
        alive = trials[child.number - population : child.number]  # the P most recent (all complete)
        candidates = [t for t in alive if t.params == parent]
        assert candidates, f"trial {child.number}'s parent is not in the current population"
        if sample == population:  # the tournament sees everyone: the parent is the best alive
            assert max(t.value for t in candidates) == max(t.value for t in alive)

        changed = {k for k in child.params.keys() & parent.keys() if child.params[k] != parent[k]}
        assert changed == {mutated}, f"trial {child.number} changed {changed}, expected only {mutated}"
        if child.params.keys() != parent.keys():
            assert any(key in mutated for key in STRUCTURAL), (
                f"trial {child.number}: parameters appeared or vanished though {mutated} is not structural")


def test_conditional_parameters_follow_the_mutated_block():
    study = evolve(RegularizedEvolutionSampler(population_size=6, sample_size=2, seed=3), 200)
    kinds = set()
    for child in study.trials[6:]:
        parent, mutated = child.system_attrs[PARENT_KEY], child.system_attrs[MUTATE_KEY]
        if mutated.endswith(".block"):
            stage = mutated.split(".")[0]
            kinds.add((parent[mutated], child.params[mutated]))
            # An expansion ratio exists exactly when the stage's block is inverted.
            assert (f"{stage}.expansion" in child.params) == (child.params[mutated] == "inverted")
    assert ("plain", "inverted") in kinds or ("residual", "inverted") in kinds
    assert ("inverted", "plain") in kinds or ("inverted", "residual") in kinds


def test_evolution_climbs_where_random_search_wanders():
    evo = evolve(RegularizedEvolutionSampler(population_size=10, sample_size=4, seed=0), 150)
    rnd = evolve(optuna.samplers.RandomSampler(seed=0), 150)
    late = slice(100, None)
    assert mean(t.value for t in evo.trials[late]) > mean(t.value for t in rnd.trials[late]) + 0.05
    assert evo.best_value >= rnd.best_value


def test_seeded_runs_repeat_and_state_lives_in_storage(tmp_path):
    a = evolve(RegularizedEvolutionSampler(population_size=5, sample_size=2, seed=7), 30)
    # A fresh sampler object per trial, on SQLite: nothing is kept in the sampler between calls.
    url = f"sqlite:///{tmp_path / 'evo.db'}"
    study = optuna.create_study(study_name="evo", direction="maximize", storage=url,
                                sampler=RegularizedEvolutionSampler(population_size=5, sample_size=2, seed=7))
    for _ in range(30):
        study = optuna.load_study(study_name="evo", storage=url,
                                  sampler=RegularizedEvolutionSampler(population_size=5, sample_size=2, seed=7))
        trial = study.ask()
        study.tell(trial, score(sample_architecture(trial, SPACE)))
    assert [t.params for t in a.trials] == [t.params for t in study.trials]


def test_enqueued_trials_are_kept_as_given():
    study = evolve(RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=0), 10)
    fixed = dict(study.trials[0].params)
    study.enqueue_trial(fixed)
    trial = study.ask()
    sample_architecture(trial, SPACE)
    assert trial.params == fixed


@pytest.mark.parametrize("kwargs, message", [
    ({"population_size": 1}, "population_size must be >= 2, got 1"),
    ({"population_size": 4, "sample_size": 5}, r"sample_size must lie in \[1, population_size\], got 5"),
])
def test_bad_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegularizedEvolutionSampler(**kwargs)
