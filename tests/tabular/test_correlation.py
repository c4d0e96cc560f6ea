"""Rank correlations are scipy's (ties included), NaN when undefined; top-k hit rate; per-proxy table."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from nasbench.errors import ConfigError
from nasbench.tabular.correlation import (
    average_ranks,
    kendall_tau,
    proxy_correlations,
    spearman_rho,
    top_k_hit_rate,
)

# Few distinct values so that ties are frequent, in one array, the other or both.
tied_pairs = st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 5), min_size=n, max_size=n),
    st.lists(st.integers(0, 5), min_size=n, max_size=n),
))


def same(ours: float, theirs: float) -> bool:
    return (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(tied_pairs)
def test_kendall_tau_equals_scipy_tau_b_with_ties(pair: tuple[list[int], list[int]]) -> None:
    a, b = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant input, then returns NaN
        expected = stats.kendalltau(a, b).statistic
    assert same(kendall_tau(a, b), expected)


@settings(max_examples=200, deadline=None)
@given(tied_pairs)
def test_spearman_rho_equals_scipy_with_ties(pair: tuple[list[int], list[int]]) -> None:
    a, b = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant input, then returns NaN
        expected = stats.spearmanr(a, b).statistic
    assert same(spearman_rho(a, b), expected)


def test_correlations_equal_scipy_on_large_continuous_data() -> None:
    # Continuous data without ties, at the size of a large benchmark.
    rng = np.random.default_rng(0)
    a = rng.normal(size=1500)
    b = a + rng.normal(size=1500)
    assert kendall_tau(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)
    assert spearman_rho(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)


def test_average_ranks_share_ties() -> None:
    assert average_ranks([10, 30, 20, 30, 10, 30]).tolist() == [1.5, 5.0, 3.0, 5.0, 1.5, 5.0]


def test_perfect_and_reversed_orders() -> None:
    a = [0.1, 0.5, 0.3, 0.9]
    assert kendall_tau(a, [1, 3, 2, 4]) == 1.0 and spearman_rho(a, [1, 3, 2, 4]) == 1.0
    assert kendall_tau(a, [4, 2, 3, 1]) == -1.0 and spearman_rho(a, [4, 2, 3, 1]) == -1.0


def test_constant_input_gives_nan() -> None:
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman_rho([1, 2, 3], [5, 5, 5]))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        spearman_rho([1, float("nan"), 3], [1, 2, 3])
    with pytest.raises(ValueError, match="k must"):
        top_k_hit_rate([1, 2], [1, 2], 3)


def test_top_k_hit_rate_on_hand_example() -> None:
    proxy = [0.9, 0.1, 0.8, 0.3, 0.5]
    true = [0.7, 0.6, 0.1, 0.9, 0.2]
    # True top-2 = {3, 0}, proxy top-2 = {0, 2}: one of two found.
    assert top_k_hit_rate(proxy, true, 2) == 0.5
    # True top-3 = {3, 0, 1}, proxy top-3 = {0, 2, 4}: one of three.
    assert top_k_hit_rate(proxy, true, 3) == pytest.approx(1 / 3)
    assert top_k_hit_rate(proxy, true, 5) == 1.0
    assert top_k_hit_rate(true, true, 2) == 1.0


def test_proxy_correlations_drops_nonfinite_and_reports_counts() -> None:
    df = pd.DataFrame({
        "val_acc": [0.1, 0.4, 0.3, 0.9, 0.7, float("nan")],
        "good": [1.0, 4.0, 3.0, 9.0, 7.0, 2.0],
        "bad": [5.0, float("inf"), 2.0, 1.0, float("nan"), 3.0],
    })
    table = proxy_correlations(df, ["good", "bad"], k=2).set_index("proxy")
    assert list(table.index) == ["good", "bad"]
    good, bad = table.loc["good"], table.loc["bad"]
    # scipy's tau-b for a perfect order of 5 is 10 / sqrt(10) / sqrt(10): 1 within one ulp.
    assert (good.tau, good.rho) == (pytest.approx(1.0, abs=1e-15), pytest.approx(1.0, abs=1e-15))
    assert (good.top_k_hit, good.n, good.dropped) == (1.0, 5, 1)
    assert (bad.n, bad.dropped, bad.k) == (3, 3, 2)
    kept_acc, kept_bad = [0.1, 0.3, 0.9], [5.0, 2.0, 1.0]
    assert bad.tau == pytest.approx(kendall_tau(kept_bad, kept_acc))
    assert bad.rho == pytest.approx(spearman_rho(kept_bad, kept_acc))
    # Proxy top-2 = rows {0, 2} of the kept ones, true top-2 = {2, 1}: one of two found.
    assert bad.top_k_hit == top_k_hit_rate(kept_bad, kept_acc, 2) == 0.5


def test_proxy_correlations_caps_k_and_names_missing_columns() -> None:
    df = pd.DataFrame({"val_acc": [0.1, 0.2, 0.3], "p": [3.0, 2.0, 1.0]})
    row = proxy_correlations(df, ["p"], k=10).iloc[0]
    assert (row.k, row.top_k_hit, row.tau) == (3, 1.0, -1.0)
    with pytest.raises(ConfigError, match="'q'"):
        proxy_correlations(df, ["p", "q"])
    with pytest.raises(ConfigError, match="'test_acc'"):
        proxy_correlations(df, ["p"], target="test_acc")
