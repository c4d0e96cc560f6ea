"""Replay: determinism, the analytic best-of-n of random search, the simulated clock, budgets."""

from __future__ import annotations

import math
from math import comb

import numpy as np
import pytest

from nasbench.errors import ConfigError
from nasbench.tabular.replay import Budget, replay
from nasbench.tabular.table import benchmark_from_dict
from tests.tabular.synthetic import FLAT_SPACE, TWO_DEPTH_SPACE, space_archs, synthetic_benchmark, synthetic_dict

# Distinct accuracies in a shuffled order, so enumeration order says nothing about quality.
VALUES = [0.50 + 0.02 * v for v in np.random.default_rng(7).permutation(20)]


def best_of_n_without_replacement(values: list[float], n: int) -> tuple[float, float]:
    """E[max] and Var[max] of n distinct draws: the i-th smallest is the max with
    probability C(i-1, n-1) / C(N, n)."""
    v = sorted(values)
    p = [comb(i, n - 1) / comb(len(v), n) for i in range(len(v))]
    mean = sum(pi * vi for pi, vi in zip(p, v))
    return mean, sum(pi * vi ** 2 for pi, vi in zip(p, v)) - mean ** 2


def best_of_n_with_replacement(values: list[float], n: int) -> tuple[float, float]:
    """E[max] and Var[max] of n independent uniform draws: P(max = v_(i)) = (i/N)^n - ((i-1)/N)^n."""
    v, size = sorted(values), len(values)
    p = [((i + 1) / size) ** n - (i / size) ** n for i in range(size)]
    mean = sum(pi * vi for pi, vi in zip(p, v))
    return mean, sum(pi * vi ** 2 for pi, vi in zip(p, v)) - mean ** 2


@pytest.mark.parametrize("sampler", ["random", "tpe", "evolution", "nsga2", "gp"])
def test_replay_is_deterministic_per_seed(sampler: str) -> None:
    bench = synthetic_benchmark(VALUES)
    budget = Budget(trials=12)
    a, b = replay(bench, sampler, 3, budget), replay(bench, sampler, 3, budget)
    assert a.entry == b.entry and a.time_s == b.time_s and a.best_test_acc == b.best_test_acc
    assert len(a.entry) == 12


def test_different_seeds_search_differently() -> None:
    bench = synthetic_benchmark(VALUES)
    runs = [replay(bench, "random", seed, Budget(trials=10)).entry for seed in range(4)]
    assert len({tuple(r) for r in runs}) > 1


@pytest.mark.slow  # 2 x 2.5 s: hundreds of seeded replays against the analytic expectation
@pytest.mark.parametrize(("dedup", "expectation"), [(True, best_of_n_without_replacement),
                                                     (False, best_of_n_with_replacement)])
def test_random_search_matches_analytic_best_of_n(dedup: bool, expectation) -> None:
    # With dedup a repeat costs no trial, so n trials are n distinct architectures (without
    # replacement); charged repeats make them n independent uniform draws (with replacement).
    bench, n, seeds = synthetic_benchmark(VALUES), 5, 300
    found = [replay(bench, "random", seed, Budget(trials=n), dedup=dedup).best_test_acc[-1] for seed in range(seeds)]
    mean, var = expectation(VALUES, n)
    standard_error = math.sqrt(var / seeds)
    # 4 standard errors of the mean of 300 seeds: a correct replay fails this about once in 15,000.
    assert abs(np.mean(found) - mean) < 4 * standard_error
    assert standard_error < 0.005  # the check is sharp enough to catch a biased replay


def test_clock_sums_stored_training_times() -> None:
    seconds = [float(s) for s in np.random.default_rng(1).uniform(5, 50, 20)]
    bench = synthetic_benchmark(VALUES, seconds)
    run = replay(bench, "tpe", 0, Budget(trials=30))
    assert np.allclose(run.time_s, np.cumsum([seconds[i] for i in run.entry]))


def test_time_budget_stops_at_the_first_trial_that_would_not_finish() -> None:
    seconds = [float(s) for s in np.random.default_rng(2).uniform(5, 50, 20)]
    bench = synthetic_benchmark(VALUES, seconds)
    limit = 200.0
    run = replay(bench, "random", 5, Budget(seconds=limit))
    assert run.time_s[-1] <= limit
    longer = replay(bench, "random", 5, Budget(trials=len(run.entry) + 1))
    assert longer.entry[:-1] == run.entry  # the same search, one trial further
    assert run.time_s[-1] + seconds[longer.entry[-1]] > limit
    assert run.stopped == "time budget spent"


def test_both_budgets_stop_at_whichever_ends_first() -> None:
    bench = synthetic_benchmark(VALUES, [100.0] * 20)
    assert len(replay(bench, "random", 0, Budget(trials=3, seconds=10_000)).entry) == 3
    assert len(replay(bench, "random", 0, Budget(trials=50, seconds=450)).entry) == 4


def test_incumbent_is_chosen_by_validation_and_reports_its_test_accuracy() -> None:
    archs = space_archs(FLAT_SPACE)
    val = [0.5 + 0.01 * i for i in range(20)]
    test = [0.9 - 0.01 * i for i in range(20)]  # anti-correlated: selecting on test would differ
    bench = benchmark_from_dict(synthetic_dict(archs, val, test, [1.0] * 20))
    run = replay(bench, "random", 0, Budget(trials=8))
    for k in range(8):
        best = max(run.entry[: k + 1], key=lambda i: val[i])
        assert run.best_test_acc[k] == pytest.approx(test[best])
    assert np.allclose(run.regret, max(test) - np.array(run.best_test_acc))


def test_dedup_stops_when_the_table_is_exhausted() -> None:
    bench = synthetic_benchmark(VALUES)
    run = replay(bench, "random", 0, Budget(trials=100), dedup=True)
    assert sorted(run.entry) == list(range(20))
    assert run.best_test_acc[-1] == max(VALUES) and run.regret[-1] == pytest.approx(0.0)
    assert run.stopped == "every architecture of the table was evaluated"


def test_infeasible_asks_cost_nothing_and_are_not_trials() -> None:
    archs = space_archs(TWO_DEPTH_SPACE)
    feasible = [a for a in archs if len(a.stages) == 1]
    d = synthetic_dict(feasible, [0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.7, 0.8], [1.0, 2.0, 3.0, 4.0],
                       space=TWO_DEPTH_SPACE, input_size=2, cardinality=len(archs))
    bench = benchmark_from_dict(d)
    assert bench.exhaustive is False  # the 2-stage networks are not recorded
    assert all(bench.infeasibility(a) for a in archs if len(a.stages) == 2)
    run = replay(bench, "random", 0, Budget(trials=10))
    assert run.infeasible > 0 and len(run.entry) == 10
    assert run.asks == run.infeasible + 10
    assert run.time_s[-1] == pytest.approx(sum(1.0 + i for i in run.entry))


def test_a_missing_architecture_is_answered_by_its_nearest_entry() -> None:
    archs = space_archs(FLAT_SPACE)
    kept = [a for a in archs if a.stages[0].width != 24]  # 16 of the 20
    bench = benchmark_from_dict(synthetic_dict(kept, [0.5] * 16, [0.5] * 16, [1.0] * 16, cardinality=20))
    assert not bench.exhaustive
    missing = next(a for a in archs if a.stages[0].width == 24)
    i, exact = bench.lookup(missing)
    assert not exact
    nearest = bench.archs[i]
    assert (nearest.stages[0].block, nearest.stages[0].kernel) == (missing.stages[0].block, missing.stages[0].kernel)
    run = replay(bench, "random", 0, Budget(trials=40))
    assert 0 < np.mean(run.exact) < 1


@pytest.mark.parametrize(("text", "trials", "seconds"), [("200trials", 200, None), ("3600s", None, 3600.0),
                                                         ("1h", None, 3600.0), ("50 trials,30m", 50, 1800.0)])
def test_budget_parsing(text: str, trials: int | None, seconds: float | None) -> None:
    assert Budget.parse(text) == Budget(trials, seconds)


@pytest.mark.parametrize("text", ["", "soon", "0trials", "-5s"])
def test_bad_budgets_are_refused_naming_the_value(text: str) -> None:
    with pytest.raises(ConfigError, match="--budget"):
        Budget.parse(text)


def test_unknown_epoch_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match="--epochs 7"):
        replay(synthetic_benchmark(VALUES), "random", 0, Budget(trials=3), epochs=7)
