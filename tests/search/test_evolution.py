"""Regularised evolution as an Optuna sampler: tournament, one mutation, conditional parameters,
and Optuna's sampler contract (several objectives, values inside their distributions, reseeding,
enqueued trials, copies).

Real Optuna studies (in memory and in SQLite) sampling a real conditional space; the objective is
a cheap deterministic score of the architecture instead of a training, so many generations run
in a second.
"""

from __future__ import annotations

import copy
import gc
import math
import pickle
import random
import warnings
from decimal import Decimal
from statistics import mean

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from nasbench.search.evolution import (
    MUTATE_KEY,
    NICHE_KEY,
    PARENT_KEY,
    SHRINK_KEY,
    RegularizedEvolutionSampler,
    _any_value,
    _fitness,
    _grid_value,
    _lowerable,
    _n_values,
    _other_value,
    _smaller_value,
)
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


def changed_params(child: dict, parent: dict) -> set[str]:
    """The parameters both have whose values differ (one, the mutated one, for a child)."""
    return {k for k in child.keys() & parent.keys() if child[k] != parent[k]}


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

        changed = changed_params(child.params, parent)
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


@pytest.mark.slow  # 30 trials through SQLite, the study loaded afresh for each
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
    ({"niche": {"params": 1000}}, "niche and niche_share go together"),
    ({"niche_share": 0.3}, "niche and niche_share go together"),
    ({"niche": {"params": 1000}, "niche_share": 1.0}, r"niche_share must lie in \[0, 1\), got 1.0"),
    ({"niche": {"depth": 3}, "niche_share": 0.3}, "niche: unknown figure 'depth'; choose from params, flops"),
    ({"niche": {"params": 0}, "niche_share": 0.3}, "niche: the bound on params must be positive, got 0"),
])
def test_bad_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegularizedEvolutionSampler(**kwargs)


def params(study: optuna.Study) -> list[dict]:
    return [t.params for t in study.trials]


# --- several objectives: rank, then crowding distance ------------------------------------------

def size(arch: Architecture) -> float:
    """A stand-in for params: grows with width and depth (as ``score`` does) and with the kernel."""
    return float(sum(s.width * s.depth * s.kernel**2 for s in arch.stages))


def evolve_pareto(sampler: RegularizedEvolutionSampler, n: int,
                  directions: tuple[str, str] = ("maximize", "minimize")) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=list(directions), sampler=sampler)
    for _ in range(n):
        trial = study.ask()
        arch = sample_architecture(trial, SPACE)
        study.tell(trial, [score(arch), size(arch)])
    return study


def losses(values: list[float], directions: tuple[str, str]) -> tuple[float, ...]:
    return tuple(-v if d == "maximize" else v for v, d in zip(values, directions, strict=True))


def dominated(a: tuple[float, ...], others: list[tuple[float, ...]]) -> bool:
    return any(all(o <= x for o, x in zip(other, a, strict=True)) and other != a for other in others)


@pytest.mark.parametrize("directions", [("maximize", "minimize"), ("minimize", "maximize")])
def test_several_objectives_parents_come_from_the_pareto_front(directions):
    population = 6
    study = evolve_pareto(RegularizedEvolutionSampler(population_size=population, sample_size=population,
                                                      seed=2), 80, directions)
    trials = study.trials
    off_first_objective = 0
    for child in trials[population:]:
        parent = child.system_attrs[PARENT_KEY]
        alive = [losses(t.values, directions) for t in trials[child.number - population : child.number]]
        mine = losses(next(t.values for t in trials[child.number - population : child.number]
                           if t.params == parent), directions)
        # The tournament sees everyone: the winner is on the front (rank 0), and among the front
        # an extreme (infinite crowding distance), i.e. the best of the population in some objective.
        assert not dominated(mine, alive), f"trial {child.number}'s parent is dominated"
        best = [min(a[m] for a in alive) for m in range(2)]
        assert any(mine[m] == best[m] for m in range(2)), f"trial {child.number}'s parent is no extreme"
        off_first_objective += mine[0] != best[0]
    assert off_first_objective > 0, "parents were chosen on the first objective only"


def test_several_objectives_tournament_order_is_rank_then_crowding():
    study = optuna.create_study(directions=["maximize", "minimize"])  # [val_acc, params]
    points = {"A": (0.90, 100), "E": (0.85, 90), "B": (0.80, 50), "C": (0.50, 10), "D": (0.70, 60)}
    for name, values in points.items():
        study.add_trial(optuna.trial.create_trial(params={"x": name}, values=list(values),
                                                  distributions={"x": CategoricalDistribution(list(points))}))
    key = {t.params["x"]: k for t, k in zip(study.trials, _fitness(study.trials, study.directions).values(),
                                            strict=True)}
    # Front A, E, B, C (D is dominated by B). A and C are its extremes; B's neighbours are farther
    # apart than E's (0.875 + 0.889 against 0.25 + 0.556 of the objectives' spans).
    assert key["A"] == key["C"] < key["B"] < key["E"] < key["D"]


def test_several_objectives_evolution_pushes_the_front_further_than_random_search():
    def hypervolume(study: optuna.Study) -> float:  # 2-D, against the reference (score 0, size 3e5)
        front = sorted((t.values for t in study.best_trials), key=lambda v: v[1])
        area, best_score = 0.0, 0.0
        for i, (s, z) in enumerate(front):
            best_score = max(best_score, s)
            upper = front[i + 1][1] if i + 1 < len(front) else 3e5
            area += best_score * (upper - z)
        return area

    evo = evolve_pareto(RegularizedEvolutionSampler(population_size=10, sample_size=4, seed=0), 150)
    rnd = evolve_pareto(optuna.samplers.RandomSampler(seed=0), 150)
    assert hypervolume(evo) > hypervolume(rnd)


# --- values stay inside their distributions ------------------------------------------------------

DISTRIBUTIONS = [
    FloatDistribution(-10.2, 10.2, step=0.1),
    FloatDistribution(0.0, 0.9, step=0.3),
    FloatDistribution(1e-7, 10.0, log=True),
    FloatDistribution(-1.0, 1.0),
    IntDistribution(-10, 8, step=3),
    IntDistribution(0, 10, step=2),
    IntDistribution(1, 100, log=True),
    CategoricalDistribution(["a", None, 1.5]),
]


def inside(d, value) -> bool:
    if isinstance(d, FloatDistribution) and type(value) is not float:
        return False
    if isinstance(d, IntDistribution) and type(value) is not int:
        return False
    return d._contains(d.to_internal_repr(value))


@pytest.mark.parametrize("d", [d for d in DISTRIBUTIONS if isinstance(d, FloatDistribution) and d.step])
def test_every_stepped_float_is_in_range_and_exact(d):
    n = int(_n_values(d))
    values = [_grid_value(d, k) for k in range(n)]
    assert all(d.low <= v <= d.high for v in values)
    # low + k * step in decimal: -10.2 + 204 * 0.1 is 10.2, not 10.200000000000003.
    assert values == [float(Decimal(str(d.low)) + k * Decimal(str(d.step))) for k in range(n)]
    assert values[0] == d.low and values[-1] == d.high


# Values a walk towards a niche's bounds can lower: numbers on a grid (widths, depths, kernels).
GRIDS = [
    *(d for d in DISTRIBUTIONS if isinstance(d, IntDistribution | FloatDistribution) and d.step and not d.log),
    CategoricalDistribution([16, 32, 48.0]),
]


@pytest.mark.parametrize("d", GRIDS, ids=repr)
def test_a_value_lowered_towards_a_niche_is_any_smaller_value_of_the_distribution(d):
    rng = random.Random(0)
    for k in range(int(_n_values(d))):
        value = _grid_value(d, k)
        assert _lowerable(d, value) == (k > 0)  # only the bottom of the grid has nothing below
        if k > 0:
            lowered = {_smaller_value(d, value, rng) for _ in range(20 * k)}
            assert lowered == {_grid_value(d, i) for i in range(k)}  # every smaller value, and only those
            assert all(inside(d, v) for v in lowered)


@pytest.mark.parametrize("d", [d for d in DISTRIBUTIONS if d not in GRIDS], ids=repr)
def test_nothing_is_lowered_off_a_grid_of_numbers(d):
    # A block type has no "smaller"; a continuous or log range is no count of anything.
    rng = random.Random(0)
    assert not any(_lowerable(d, _any_value(d, rng)) for _ in range(200))


@pytest.mark.parametrize("d", DISTRIBUTIONS, ids=repr)
def test_random_and_mutated_values_are_values_of_the_distribution(d):
    rng = random.Random(0)
    for _ in range(2000):
        value = _any_value(d, rng)
        assert inside(d, value), value
        other = _other_value(d, value, rng)
        assert inside(d, other), other
        assert other != value
    if isinstance(d, FloatDistribution) and d.step:  # every value reachable, the top one included
        drawn = {_any_value(d, rng) for _ in range(20 * int(_n_values(d)))}
        assert drawn == {_grid_value(d, k) for k in range(int(_n_values(d)))}


def test_log_scales_are_sampled_log_uniformly():
    rng = random.Random(0)
    ints = [_any_value(IntDistribution(1, 100, log=True), rng) for _ in range(4000)]
    floats = [_any_value(FloatDistribution(1e-7, 10.0, log=True), rng) for _ in range(4000)]
    assert 0.5 < mean(v <= 10 for v in ints) < 0.65  # log(10.5/0.5) / log(100.5/0.5) = 0.57
    assert 0.45 < mean(v <= 1e-3 for v in floats) < 0.55  # half the decades lie below 1e-3


def suggest(trial: optuna.Trial, name: str, d) -> object:
    if isinstance(d, CategoricalDistribution):
        return trial.suggest_categorical(name, d.choices)
    if isinstance(d, IntDistribution):
        return trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
    return trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)


def test_an_evolving_study_keeps_every_kind_of_parameter_in_range():
    def objective(trial: optuna.Trial) -> float:
        values = [suggest(trial, f"p{i}", d) for i, d in enumerate(DISTRIBUTIONS)]
        return sum(float(v) for v in values if isinstance(v, (int, float)))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=5))
    study.optimize(objective, n_trials=120)
    mutated = {t.system_attrs.get(MUTATE_KEY) for t in study.trials}
    assert {f"p{i}" for i in range(len(DISTRIBUTIONS))} <= mutated  # each kind was mutated at least once
    for t in study.trials:
        for i, d in enumerate(DISTRIBUTIONS):
            assert inside(d, t.params[f"p{i}"]), (t.number, f"p{i}", t.params[f"p{i}"])


@pytest.mark.parametrize("low, high, step", [(-10.2, 10.2, 0.1), (0.0, 0.3, 0.1), (-1.0, 1.0, 0.2)])
def test_stepped_floats_asked_through_optuna_stay_on_their_grid_up_to_the_top(low, high, step):
    # The top of these grids is where float error showed: low + k * step gave 10.200000000000003
    # and 0.30000000000000004, above high. Both ways a value is made are asked through Optuna:
    # random (trials asked and never told leave the population empty) and mutated (maximising,
    # so children crowd the top; with one parameter every child mutates it).
    def on_grid(v: float) -> bool:
        k = (v - low) / step
        return type(v) is float and low <= v <= high and abs(k - round(k)) < 1e-8

    sampler = RegularizedEvolutionSampler(population_size=2, sample_size=1, seed=0)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    random_study = optuna.create_study(sampler=sampler)
    drawn = [random_study.ask().suggest_float("x", low, high, step=step) for _ in range(1500)]
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", low, high, step=step), n_trials=300)
    children = [t for t in study.trials if t.system_attrs.get(MUTATE_KEY) == "x"]
    mutated = [t.params["x"] for t in children]
    for values in (drawn, mutated):
        assert all(on_grid(v) for v in values), sorted(v for v in values if not on_grid(v))
        assert high in values and low in values
    # Every child but the two random start-up trials, and each moved: a redraw may not land on
    # the parent's own value (it did, and the child was its parent again).
    assert len(children) == 298 and all(t.params["x"] != t.system_attrs[PARENT_KEY]["x"] for t in children)


# --- reseed_rng -------------------------------------------------------------------------------

def test_reseed_rng_changes_the_stream_and_the_new_seed_repeats_it():
    def run(seed: int, reseed: bool = False) -> tuple[int, list[dict]]:
        sampler = RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=seed)
        if reseed:
            sampler.reseed_rng()
        return sampler.seed, params(evolve(sampler, 20))

    seed, original = run(7)
    assert run(7) == (seed, original)  # a given seed: the same proposals
    new_seed, reseeded = run(7, reseed=True)
    assert new_seed != 7 and reseeded != original
    assert run(new_seed)[1] == reseeded  # the reseeded sampler shows its seed, which repeats its run


def test_reseed_rng_between_trials_changes_only_what_follows():
    sampler = RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=3)
    study = evolve(sampler, 10)
    sampler.reseed_rng()
    for _ in range(10):
        trial = study.ask()
        study.tell(trial, score(sample_architecture(trial, SPACE)))
    reference = params(evolve(RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=3), 20))
    assert params(study)[:10] == reference[:10]
    assert params(study)[10:] != reference[10:]


def test_optimize_in_threads_reseeds_the_sampler_and_children_still_come_from_the_population():
    # Optuna reseeds the sampler in each thread of optimize(n_jobs > 1) so that threads do not
    # repeat each other's draws; one thread leaves the given seed alone.
    def objective(trial: optuna.Trial) -> float:
        return score(sample_architecture(trial, SPACE))

    sampler = RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=7)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=6)
    assert sampler.seed == 7
    study.optimize(objective, n_trials=16, n_jobs=2)
    assert sampler.seed != 7
    trials = study.trials
    assert len(trials) == 22 and all(t.state == TrialState.COMPLETE for t in trials)
    children = [t for t in trials if PARENT_KEY in t.system_attrs]
    assert len(children) >= 16
    for child in children:  # a parent finished before its child was asked, so it is numbered lower
        parent = child.system_attrs[PARENT_KEY]
        assert parent in [t.params for t in trials[: child.number]], f"trial {child.number}'s parent is unknown"
        changed = changed_params(child.params, parent)
        assert changed == {child.system_attrs[MUTATE_KEY]}


# --- conditional and changing spaces -----------------------------------------------------------

def test_a_parent_value_that_no_longer_fits_is_sampled_afresh():
    def objective(trial: optuna.Trial) -> float:
        late = trial.number >= 8  # from here the ranges move past every parent's value
        x = trial.suggest_int("x", 0, 10)
        y = trial.suggest_float("y", 20, 30) if late else trial.suggest_float("y", 0, 10)
        z = trial.suggest_int("z", 10, 15) if late else trial.suggest_int("z", 0, 5)
        return x + y + z

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=1))
    study.optimize(objective, n_trials=14)
    for t in study.trials[8:]:  # parents from the early ranges, children in the late ones
        assert 20 <= t.params["y"] <= 30 and 10 <= t.params["z"] <= 15
        parent = t.system_attrs[PARENT_KEY]
        if t.system_attrs[MUTATE_KEY] != "x":
            assert t.params["x"] == parent["x"]  # what still fits is inherited


# --- enqueued trials ---------------------------------------------------------------------------

def test_an_enqueued_trial_keeps_its_values_and_has_no_parent():
    study = evolve(RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=0), 10)
    partial = {"num_stages": 3, "activation": "relu"}
    study.enqueue_trial(partial)
    trial = study.ask()
    sample_architecture(trial, SPACE)
    study.tell(trial, 0.0)
    enqueued = study.trials[-1]
    assert {k: enqueued.params[k] for k in partial} == partial
    assert PARENT_KEY not in enqueued.system_attrs and "s2.block" in enqueued.params
    trial = study.ask()  # the next one evolves again
    sample_architecture(trial, SPACE)
    assert PARENT_KEY in study.trials[-1].system_attrs


# --- inside Optuna's machinery: wrapped samplers, failing trials ---------------------------------

def test_every_parameter_is_sampled_independently_so_a_partial_fixed_sampler_keeps_evolving():
    # The relative search space is empty: Optuna asks every parameter of sample_independent, where
    # the parent's values are answered. PartialFixedSampler answers its fixed parameters itself and
    # hands before_trial and the rest to us, so children still inherit the other parameters.
    sampler = RegularizedEvolutionSampler(population_size=3, sample_size=2, seed=4)
    study = evolve(sampler, 6)
    assert sampler.infer_relative_search_space(study, study.trials[-1]) == {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.sampler = optuna.samplers.PartialFixedSampler({"activation": "silu"}, sampler)
    for _ in range(12):
        trial = study.ask()
        study.tell(trial, score(sample_architecture(trial, SPACE)))
        assert trial.relative_params == {}
    for child in study.trials[6:]:
        parent, mutated = child.system_attrs[PARENT_KEY], child.system_attrs[MUTATE_KEY]
        assert child.params["activation"] == "silu"
        changed = changed_params(child.params, parent)
        assert changed - {"activation"} <= {mutated}, f"trial {child.number} changed {changed}"


def test_failed_nan_and_valueless_pruned_trials_never_become_parents():
    def objective(trial: optuna.Trial) -> float:
        arch = sample_architecture(trial, SPACE)
        outcome = trial.number % 4  # deterministic mix: one trial in four completes
        if outcome == 1:
            raise optuna.TrialPruned()  # before reporting anything: no value to rank it by
        if outcome == 2:
            raise ArithmeticError("training diverged")
        return math.nan if outcome == 3 else score(arch)  # Optuna fails a NaN result

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize",
                                sampler=RegularizedEvolutionSampler(population_size=3, sample_size=2, seed=6))
    study.optimize(objective, n_trials=40, catch=(ArithmeticError,))
    trials = study.trials
    assert [t.state for t in trials[:4]] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.FAIL]
    children = [t for t in trials if PARENT_KEY in t.system_attrs]
    assert [t.number for t in children] == list(range(9, 40))  # once trials 0, 4 and 8 completed
    for child in children:
        complete = [t.params for t in trials[: child.number] if t.state == TrialState.COMPLETE]
        assert child.system_attrs[PARENT_KEY] in complete, f"trial {child.number}'s parent did not complete"


def test_pruned_trials_with_a_value_fill_the_population_and_rank_below_complete_ones():
    # As under Hyperband: each trial reports at epochs 3, 9, 27; two in three are stopped early.
    # Counting only complete trials, a population of 6 would need 18 trials to fill.
    def objective(trial: optuna.Trial) -> float:
        value = score(sample_architecture(trial, SPACE))
        stop = {0: 3, 1: 9}.get(trial.number % 3)  # the third one in three runs to the end
        for step in (3, 9, 27):
            trial.report(value * step / 27, step)
            if step == stop:
                raise optuna.TrialPruned()
        return value

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize",
                                sampler=RegularizedEvolutionSampler(population_size=6, sample_size=3, seed=1))
    study.optimize(objective, n_trials=30)
    children = [t for t in study.trials if PARENT_KEY in t.system_attrs]
    assert children[0].number == 6  # once six trials ended with a value, complete or pruned
    pruned = [t.params for t in study.trials if t.state == TrialState.PRUNED]
    assert any(child.system_attrs[PARENT_KEY] in pruned for child in children)

    # The tournament's order: complete, then pruned by the step they reached, then by value.
    dist = {"x": CategoricalDistribution(["a", "b", "c", "d", "e"])}
    ranked = optuna.create_study(direction="maximize")
    for name, state, steps in [("a", TrialState.PRUNED, {3: 0.9}), ("b", TrialState.COMPLETE, {27: 0.5}),
                               ("c", TrialState.PRUNED, {3: 0.4, 9: 0.6}), ("d", TrialState.COMPLETE, {27: 0.8}),
                               ("e", TrialState.PRUNED, {3: 0.5, 9: 0.7})]:
        ranked.add_trial(optuna.trial.create_trial(
            params={"x": name}, distributions=dist, state=state, intermediate_values=steps,
            value=steps[max(steps)]))
    key = _fitness(ranked.trials, ranked.directions)
    order = sorted(ranked.trials, key=lambda t: key[t.number])
    assert [t.params["x"] for t in order] == ["d", "b", "e", "c", "a"]


# --- before the population is full ------------------------------------------------------------

def test_trials_are_random_until_the_population_holds_enough_feasible_complete_trials():
    study = optuna.create_study(direction="maximize",
                                sampler=RegularizedEvolutionSampler(population_size=3, sample_size=3, seed=0))

    def next_trial() -> optuna.Trial:
        trial = study.ask()
        sample_architecture(trial, SPACE)
        return trial

    def planned(trial: optuna.Trial) -> bool:
        return PARENT_KEY in study.trials[trial.number].system_attrs

    study.tell(next_trial(), 0.1)
    study.tell(next_trial(), state=TrialState.FAIL)
    study.tell(next_trial(), state=TrialState.PRUNED)
    infeasible = next_trial()
    infeasible.set_constraint("feasible", 1.0)  # as nasbench tells an infeasible candidate
    study.tell(infeasible, 99.0)  # the best value, but it must never be a parent
    running = next_trial()  # asked, never told
    study.tell(next_trial(), 0.2)
    assert not planned(running)
    last_random = next_trial()
    assert not planned(last_random)  # two feasible complete trials so far: still random
    study.tell(last_random, 0.3)
    for _ in range(10):  # three now: every trial from here has a parent, never the infeasible one
        trial = next_trial()
        assert planned(trial)
        parent = study.trials[trial.number].system_attrs[PARENT_KEY]
        assert parent != study.trials[infeasible.number].params
        study.tell(trial, 0.0)
    assert [t.number for t in study.trials if PARENT_KEY in t.system_attrs] == list(range(7, 17))


# --- copies and resumes ------------------------------------------------------------------------

@pytest.mark.parametrize("clone", [copy.deepcopy, lambda s: pickle.loads(pickle.dumps(s))],
                         ids=["deepcopy", "pickle"])
def test_a_copied_sampler_proposes_what_the_original_would(clone):
    reference = params(evolve(RegularizedEvolutionSampler(population_size=5, sample_size=2, seed=11), 30))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=RegularizedEvolutionSampler(population_size=5, sample_size=2, seed=11))
    for _ in range(30):
        study.sampler = clone(study.sampler)
        trial = study.ask()
        # Copied again between planning the trial and sampling it: the plan is read back from storage.
        study.sampler = clone(study.sampler)
        study.tell(trial, score(sample_architecture(trial, SPACE)))
    assert params(study) == reference


def test_a_trial_left_running_leaves_nothing_behind_once_its_study_is_gone():
    sampler = RegularizedEvolutionSampler(population_size=2, sample_size=2, seed=0)
    study = evolve(sampler, 4)
    sample_architecture(study.ask(), SPACE)  # planned, never told
    assert len(sampler._plans) == 1
    del study
    gc.collect()
    # Trial ids restart at 0 in every in-memory storage: a plan kept past its storage could be
    # handed to another study's trial.
    assert len(sampler._plans) == 0
    assert math.isfinite(evolve(sampler, 6).best_value)


# --- a niche within bounds ---------------------------------------------------------------------

def evolve_sizes(sampler: RegularizedEvolutionSampler, n: int) -> optuna.Study:
    """As ``evolve``, recording each candidate's size as the search records its parameter count."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(n):
        trial = study.ask()
        arch = sample_architecture(trial, SPACE)
        trial.set_user_attr("params", int(size(arch)))
        study.tell(trial, score(arch))
    return study


def test_a_niche_keeps_breeding_candidates_within_its_bound_that_the_tournaments_breed_away_from():
    bound = 1000  # the score rewards width x depth: plain tournaments climb away from small networks
    plain = evolve_sizes(RegularizedEvolutionSampler(population_size=10, sample_size=4, seed=0), 150)
    niched = evolve_sizes(RegularizedEvolutionSampler(population_size=10, sample_size=4, seed=0,
                                                      niche={"params": bound}, niche_share=0.4), 150)
    late = slice(50, None)
    small = [sum(t.user_attrs["params"] <= bound for t in s.trials[late]) for s in (plain, niched)]
    assert small[1] >= 3 * max(small[0], 1), small  # side by side, same seed
    best_small = [max((t.value for t in s.trials if t.user_attrs["params"] <= bound), default=-math.inf)
                  for s in (plain, niched)]
    assert best_small[1] > best_small[0], best_small
    # The other children still climb: the niche takes a share, not the search.
    assert mean(t.value for t in niched.trials[late]) > mean(
        t.value for t in evolve(optuna.samplers.RandomSampler(seed=0), 150).trials[late])

    bred = [t for t in niched.trials if t.system_attrs.get(NICHE_KEY)]
    assert 0.3 < len(bred) / len(niched.trials[10:]) < 0.5  # about the share asked for
    for child in bred:
        before = [t for t in niched.trials[: child.number] if t.user_attrs["params"] <= bound]
        parent = child.system_attrs[PARENT_KEY]
        if before:  # a tournament among the niche's most recent members
            assert parent in [t.params for t in before[-10:]]
        else:  # none yet: the member nearest the bound
            alive = niched.trials[child.number - 10 : child.number]
            assert parent == min(alive, key=lambda t: (t.user_attrs["params"], t.number)).params


def test_while_the_niche_is_empty_its_children_walk_down_from_the_member_nearest_the_bound():
    # A bound only the smallest networks of the space meet (2 stages of width 16, depth 1, kernel 3:
    # size 288), below every network of each seed's random start-up. With a mutation to any other
    # value, the member nearest the bound reached it within 60 trials in 2 seeds of these 10; a walk
    # that lowers one number per child reaches it in every seed.
    bound = 300
    for seed in range(10):
        study = evolve_sizes(RegularizedEvolutionSampler(population_size=10, sample_size=4, seed=seed,
                                                         niche={"params": bound}, niche_share=0.4), 40)
        trials = study.trials
        assert min(t.user_attrs["params"] for t in trials[:10]) > bound
        first = next((t.number for t in trials if t.user_attrs["params"] <= bound), None)
        assert first is not None, f"seed {seed}: the niche is still empty after 40 trials"
        for child in trials[10:]:
            walked = child.system_attrs.get(SHRINK_KEY, False)
            assert walked == (bool(child.system_attrs.get(NICHE_KEY)) and child.number <= first)
            if not walked:
                continue
            parent = child.system_attrs[PARENT_KEY]
            alive = trials[child.number - 10 : child.number]
            assert parent == min(alive, key=lambda t: (t.user_attrs["params"], t.number)).params
            mutated = child.system_attrs[MUTATE_KEY]
            assert isinstance(parent[mutated], int) and child.params[mutated] < parent[mutated]


def test_a_niche_on_an_empty_or_unknown_figure_never_breaks_the_search():
    # Trials without the figure (e.g. a study that records no parameter counts) are never inside.
    study = evolve(RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=0,
                                               niche={"params": 10}, niche_share=0.5), 30)
    assert all(PARENT_KEY in t.system_attrs for t in study.trials[4:])
