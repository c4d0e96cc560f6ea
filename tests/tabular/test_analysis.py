"""Replay statistics: intervals, curves, ranking and its significance test, the leaderboard."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nasbench.tabular import analysis
from nasbench.tabular.replay import Budget, ReplayRun, replay
from tests.tabular.synthetic import synthetic_benchmark

VALUES = [0.50 + 0.02 * v for v in np.random.default_rng(7).permutation(20)]


def run_with(regrets: list[float], times: list[float], sampler: str = "a", seed: int = 0,
             bench: str = "b") -> ReplayRun:
    """A run whose incumbent regrets are ``regrets`` (oracle 1.0)."""
    n = len(regrets)
    return ReplayRun(bench, sampler, seed, 1.0, entry=list(range(n)), exact=[True] * n, val_acc=[0.0] * n,
                     test_acc=[0.0] * n, time_s=times, best_test_acc=[1.0 - r for r in regrets])


def test_mean_ci_is_the_student_t_interval() -> None:
    x = [0.1, 0.3, 0.2, 0.5, 0.4]
    mean, lo, hi, n = analysis.mean_ci(x)
    expected = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert (mean, n) == (pytest.approx(0.3), 5)
    assert (lo, hi) == (pytest.approx(expected[0]), pytest.approx(expected[1]))


def test_mean_ci_of_one_value_has_no_interval_and_ignores_nan() -> None:
    mean, lo, hi, n = analysis.mean_ci([0.4, math.nan])
    assert mean == 0.4 and n == 1 and math.isnan(lo) and math.isnan(hi)


def test_holm_adjustment() -> None:
    adjusted = analysis.holm([0.01, 0.04, 0.03, math.nan])
    assert np.allclose(adjusted[:3], [0.03, 0.06, 0.06]) and math.isnan(adjusted[3])


def test_regret_vs_trials_carries_the_last_value_of_a_short_run() -> None:
    runs = [run_with([0.3, 0.1], [1, 2], seed=0), run_with([0.2, 0.2, 0.0], [1, 2, 3], seed=1)]
    curve = analysis.curve_vs_trials(runs)
    assert curve["regret_mean"].tolist() == pytest.approx([0.25, 0.15, 0.05])
    assert curve["n"].tolist() == [2, 2, 2]


def test_regret_vs_time_has_no_value_before_the_first_trial() -> None:
    run = run_with([0.3, 0.1], [10.0, 30.0])
    assert analysis.regret_at_times(run, np.array([5.0, 10.0, 29.0, 30.0, 100.0])) == pytest.approx(
        [math.nan, 0.3, 0.3, 0.1, 0.1], nan_ok=True)


def test_ranking_orders_by_final_regret_and_tests_against_the_best() -> None:
    runs = [run_with([0.2, r], [1, 2], "good", s) for s, r in enumerate([0.0, 0.01, 0.0, 0.02, 0.0, 0.01])]
    runs += [run_with([0.2, r], [1, 2], "bad", s) for s, r in enumerate([0.1, 0.12, 0.09, 0.11, 0.1, 0.13])]
    final = analysis.final_frame(runs)
    ranks = analysis.ranking(final)
    assert ranks["sampler"].tolist() == ["good", "bad"] and ranks["rank"].tolist() == [1, 2]
    good = final[final.sampler == "good"]["final_regret"]
    bad = final[final.sampler == "bad"]["final_regret"]
    p = stats.mannwhitneyu(bad, good, alternative="two-sided").pvalue
    assert ranks["p_vs_best"].iloc[1] == pytest.approx(p)
    assert bool(ranks["worse_than_best"].iloc[1]) and math.isnan(ranks["p_vs_best"].iloc[0])


def test_ties_on_final_regret_are_broken_by_anytime_regret() -> None:
    runs = [run_with([0.5, 0.0], [1, 2], "slow", 0), run_with([0.1, 0.0], [1, 2], "fast", 0)]
    ranks = analysis.ranking(analysis.final_frame(runs))
    assert ranks["sampler"].tolist() == ["fast", "slow"]
    assert ranks["p_vs_best"].iloc[1] == 1.0  # identical final regrets: no evidence of a difference


def test_leaderboard_averages_ranks_over_benchmarks() -> None:
    runs = [run_with([0.0], [1], "x", 0, "b1"), run_with([0.1], [1], "y", 0, "b1"),
            run_with([0.2], [1], "x", 0, "b2"), run_with([0.1], [1], "y", 0, "b2"),
            run_with([0.0], [1], "x", 0, "b3"), run_with([0.3], [1], "y", 0, "b3")]
    board = analysis.leaderboard(analysis.ranking(analysis.final_frame(runs)))
    assert board["sampler"].tolist() == ["x", "y"]
    assert board["mean_rank"].tolist() == pytest.approx([4 / 3, 5 / 3])
    assert board["rank:b2"].tolist() == [2, 1]


def test_curves_from_real_replays_have_one_row_per_trial_and_sampler() -> None:
    bench = synthetic_benchmark(VALUES)
    runs = [replay(bench, s, seed, Budget(trials=6)) for s in ("random", "evolution") for seed in range(3)]
    curve = analysis.curve_vs_trials(runs)
    assert len(curve) == 2 * 6 and set(curve["n"]) == {3}
    assert (curve.groupby("sampler")["regret_mean"].apply(lambda s: s.is_monotonic_decreasing)).all()
    timed = analysis.curve_vs_time(runs, seconds=None)
    assert len(timed) == 2 * analysis.TIME_POINTS
    final = analysis.final_frame(runs)
    assert np.allclose(final["final_regret"], [r.regret[-1] for r in runs])
