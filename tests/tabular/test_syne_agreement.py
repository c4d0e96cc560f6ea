"""The asynchronous replay agrees with Syne Tune's simulator on the same table (benchmarks/syne_agreement.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.syne_agreement import GRID_POINTS, agreement
from nasbench.tabular.analysis import mean_ci
from nasbench.tabular.table import load_benchmark

pytestmark = pytest.mark.slow  # about 40 Syne Tune and replay runs

BENCH = load_benchmark("mnist1d_tiny")
SEEDS, SECONDS = 8, 40.0


@pytest.mark.parametrize("method", ["random", "asha"])
def test_best_so_far_curves_agree_with_syne_tune_within_their_confidence_intervals(method: str) -> None:
    # Four workers each; mean best validation error by simulated time over 8 seeds, 60 time points.
    a = agreement(BENCH, method, SEEDS, SECONDS)
    assert a.compared >= 0.8 * GRID_POINTS  # every run of both has results from early on
    assert a.overlap == a.compared, f"95% intervals apart at {a.compared - a.overlap} points"
    # As much work by the horizon: finished trials (random) or epochs reported (ASHA), within the intervals.
    _, lo, hi, _ = mean_ci(a.results_ours)
    _, syne_lo, syne_hi, _ = mean_ci(a.results_syne)
    assert lo <= syne_hi and syne_lo <= hi


def test_the_comparison_tells_a_replay_with_one_worker_from_syne_tunes_four() -> None:
    a = agreement(BENCH, "random", SEEDS, SECONDS, our_workers=1)
    assert a.overlap < a.compared and np.mean(a.results_ours) < np.mean(a.results_syne) / 2
