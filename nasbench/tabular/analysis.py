"""Replays summarised: regret curves with 95% confidence intervals, rankings with significance.

- Regret vs trials: after trial k, a run's regret is that of its incumbent; a run that stopped
  before k (time budget, or nothing left to evaluate) keeps its last value.
- Regret vs simulated time: on an even grid up to the time budget (or the longest run); a run has
  no value before its first trial finishes, and seeds without a value are left out (``n``).
- Mean over seeds with a Student-t 95% interval (NaN bounds from a single seed).
- Runs are grouped by method: the sampler, and with simulated workers or a scheduler, how its
  trials ran (``ReplayRun.method``); every table names the method, sampler, scheduler and workers.
- Ranking per benchmark: by mean final regret, ties by mean anytime regret (the mean of the
  regret-vs-trials curve over the trial axis), then by name. Each sampler's final regrets are
  compared with the top-ranked sampler's by a two-sided Mann-Whitney U test (seeds of different
  samplers are independent, not paired), with Holm's correction over the comparisons.
- Leaderboard: samplers by their mean rank over the benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nasbench.tabular.replay import ReplayRun

ALPHA = 0.05
TIME_POINTS = 100


def mean_ci(values: Sequence[float] | np.ndarray | pd.Series) -> tuple[float, float, float, int]:
    """Mean and Student-t 95% interval of the finite values, and how many there were."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half, int(x.size)


def trials_frame(runs: Sequence[ReplayRun]) -> pd.DataFrame:
    """Every trial of every run."""
    return pd.concat([r.frame() for r in runs], ignore_index=True) if runs else pd.DataFrame()


DESCRIBE = ("method", "sampler", "scheduler", "sim_workers")  # the columns naming what ran


def _by_group(runs: Sequence[ReplayRun]) -> dict[tuple[str, str], list[ReplayRun]]:
    groups: dict[tuple[str, str], list[ReplayRun]] = {}
    for r in runs:
        groups.setdefault((r.benchmark, r.method), []).append(r)
    return groups


def _horizons(runs: Sequence[ReplayRun]) -> dict[str, int]:
    """Per benchmark, the longest run's number of trials: the trial axis of every sampler."""
    out: dict[str, int] = {}
    for r in runs:
        out[r.benchmark] = max(out.get(r.benchmark, 0), len(r.entry))
    return out


def regret_by_trial(run: ReplayRun, horizon: int) -> np.ndarray:
    """Regret after trials 1..horizon, the last value carried forward (NaN if no trial ran)."""
    regret = run.regret
    if regret.size == 0:
        return np.full(horizon, math.nan)
    return np.concatenate([regret, np.full(max(0, horizon - regret.size), regret[-1])])[:horizon]


def regret_at_times(run: ReplayRun, grid: np.ndarray) -> np.ndarray:
    """Regret at each time of ``grid`` (NaN before the first trial finished)."""
    times = np.asarray(run.time_s, dtype=float)
    k = np.searchsorted(times, grid, side="right")  # trials finished by then
    regret = run.regret
    return np.where(k > 0, regret[np.maximum(k - 1, 0)] if regret.size else math.nan, math.nan)


def curve_vs_trials(runs: Sequence[ReplayRun]) -> pd.DataFrame:
    """Mean regret and 95% interval per benchmark, method and trial."""
    horizons = _horizons(runs)
    curves = {
        key: np.array([regret_by_trial(r, horizons[key[0]]) for r in group]) for key, group in _by_group(runs).items()
    }
    return _curve_frame(runs, curves, "trial", {b: np.arange(1, h + 1) for b, h in horizons.items()})


def time_grid(runs: Sequence[ReplayRun], bench: str, seconds: float | None) -> np.ndarray:
    end = seconds or max((r.time_s[-1] for r in runs if r.benchmark == bench and r.time_s), default=1.0)
    return np.linspace(0.0, end, TIME_POINTS + 1)[1:]


def curve_vs_time(runs: Sequence[ReplayRun], seconds: float | None = None) -> pd.DataFrame:
    """Mean regret and 95% interval per benchmark, method and simulated (wall) time."""
    grids = {b: time_grid(runs, b, seconds) for b in {r.benchmark for r in runs}}
    curves = {
        key: np.array([regret_at_times(r, grids[key[0]]) for r in group]) for key, group in _by_group(runs).items()
    }
    return _curve_frame(runs, curves, "time_s", grids)


def _curve_frame(
    runs: Sequence[ReplayRun], curves: dict[tuple[str, str], np.ndarray], x: str, axes: dict[str, np.ndarray]
) -> pd.DataFrame:
    """One row per benchmark, method and point of its axis: mean regret over the runs (rows of
    ``curves[benchmark, method]``) and its 95% interval."""
    described = {(r.benchmark, r.method): r.describe() for r in runs}
    rows = []
    for (bench, method), matrix in curves.items():
        for j, at in enumerate(axes[bench]):
            mean, lo, hi, n = mean_ci(matrix[:, j])
            rows.append(
                {
                    "benchmark": bench,
                    **described[bench, method],
                    x: at.item(),
                    "regret_mean": mean,
                    "regret_lo": lo,
                    "regret_hi": hi,
                    "n": n,
                }
            )
    return pd.DataFrame(rows, columns=["benchmark", *DESCRIBE, x, "regret_mean", "regret_lo", "regret_hi", "n"])


def final_frame(runs: Sequence[ReplayRun]) -> pd.DataFrame:
    """One row per run: trials, simulated time, final test accuracy and regret, anytime regret."""
    horizons = _horizons(runs)
    rows = [
        {
            "benchmark": r.benchmark,
            **r.describe(),
            "seed": r.seed,
            "trials": len(r.entry),
            "pruned": int(sum(r.pruned)),
            "asks": r.asks,
            "infeasible": r.infeasible,
            "repeats": r.repeats,
            "exact_fraction": float(np.mean(r.exact)) if r.exact else math.nan,
            "time_s": r.time_s[-1] if r.time_s else 0.0,
            "final_test_acc": r.best_test_acc[-1] if r.best_test_acc else math.nan,
            "final_regret": float(r.regret[-1]) if r.entry else math.nan,
            "anytime_regret": float(np.nanmean(regret_by_trial(r, horizons[r.benchmark]))) if r.entry else math.nan,
            "stopped": r.stopped,
            "wall_s": r.wall_s,
        }
        for r in runs
    ]
    return pd.DataFrame(rows)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN entries stay NaN and do not count)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    idx = [i for i in np.argsort(p) if np.isfinite(p[i])]
    m, running = len(idx), 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return math.nan
    if np.unique(np.concatenate([a, b])).size == 1:
        return 1.0  # identical samples: no evidence of a difference
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def ranking(final: pd.DataFrame) -> pd.DataFrame:
    """Samplers ranked per benchmark, each tested against the top-ranked one."""
    parts = [_rank_one(str(bench), group) for bench, group in final.groupby("benchmark", sort=False)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _rank_one(bench: str, final: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, g in final.groupby("method", sort=False):
        mean, lo, hi, n = mean_ci(g["final_regret"])
        rows.append(
            {
                "benchmark": bench,
                **{k: g[k].iloc[0] for k in DESCRIBE},
                "final_regret_mean": mean,
                "final_regret_lo": lo,
                "final_regret_hi": hi,
                "anytime_regret_mean": float(g["anytime_regret"].mean()),
                "final_test_acc_mean": float(g["final_test_acc"].mean()),
                "trials_mean": float(g["trials"].mean()),
                "pruned_mean": float(g["pruned"].mean()),
                "repeats_mean": float(g["repeats"].mean()),
                "time_s_mean": float(g["time_s"].mean()),
                "seeds": n,
            }
        )
    table = pd.DataFrame(rows).sort_values(
        ["final_regret_mean", "anytime_regret_mean", "method"], na_position="last", ignore_index=True
    )
    table.insert(1, "rank", np.arange(1, len(table) + 1))
    top = final.loc[final["method"] == table["method"].iloc[0], "final_regret"].to_numpy(dtype=float)
    p = [math.nan] + [
        _mann_whitney(final.loc[final["method"] == m, "final_regret"].to_numpy(dtype=float), top)
        for m in table["method"].iloc[1:]
    ]
    table["p_vs_best"] = p
    table["p_holm"] = holm(p)
    table["worse_than_best"] = table["p_holm"] < ALPHA
    return table


def leaderboard(ranks: pd.DataFrame) -> pd.DataFrame:
    """Methods x benchmarks: rank and mean final regret per benchmark, mean rank overall."""
    if ranks.empty:
        return pd.DataFrame()
    rank = ranks.pivot(index="method", columns="benchmark", values="rank")
    regret = ranks.pivot(index="method", columns="benchmark", values="final_regret_mean")
    described = ranks.drop_duplicates("method").set_index("method").loc[rank.index, list(DESCRIBE[1:])]
    board = pd.DataFrame({"method": rank.index, **{k: described[k].to_numpy() for k in DESCRIBE[1:]}})
    board["mean_rank"] = rank.mean(axis=1).to_numpy()
    for bench in ranks["benchmark"].unique():
        board[f"rank:{bench}"] = rank[bench].to_numpy()
        board[f"regret:{bench}"] = regret[bench].to_numpy()
    return board.sort_values(["mean_rank", "method"], ignore_index=True)
