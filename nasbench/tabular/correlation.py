"""Rank agreement between proxy scores and trained accuracy: Kendall tau-b, Spearman rho, top-k.

Both score arrays are read as higher = better (the proxies' convention, and accuracy's).
The coefficients are scipy's (``kendalltau`` tau-b and ``spearmanr`` on average ranks, both
handling ties), and are NaN when either array is constant or has fewer than two values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nasbench.errors import ConfigError

ArrayLike = Sequence[float] | np.ndarray | pd.Series


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as finite 1-D float arrays of one length, else ValueError."""
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"score arrays differ in length: {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("scores contain NaN or inf; drop them first (see drop_nonfinite)")
    return x, y


def drop_nonfinite(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """The pairs where both scores are finite, and how many pairs were dropped."""
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"score arrays differ in length: {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], int((~keep).sum())


def _degenerate(x: np.ndarray, y: np.ndarray) -> bool:
    """Fewer than two pairs, or a constant array: no rank order to agree on (scipy gives NaN
    and warns; here NaN is the documented answer, so scipy is not asked)."""
    return x.size < 2 or bool(np.all(x == x[0])) or bool(np.all(y == y[0]))


def kendall_tau(a: ArrayLike, b: ArrayLike) -> float:
    """Kendall's tau-b (ties in either array adjust the denominator), scipy's default variant."""
    x, y = _pair(a, b)
    if _degenerate(x, y):
        return float("nan")
    return float(stats.kendalltau(x, y, variant="b").statistic)


def average_ranks(values: ArrayLike) -> np.ndarray:
    """Ranks from 1, tied values sharing the mean of the ranks they span."""
    return stats.rankdata(np.asarray(values, dtype=float).ravel(), method="average")


def spearman_rho(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rho: Pearson correlation of the average ranks (scipy's spearmanr)."""
    x, y = _pair(a, b)
    if _degenerate(x, y):
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def _top_k(scores: np.ndarray, k: int) -> set[int]:
    """Indices of the k highest scores; ties broken by position (earlier first)."""
    return set(np.argsort(-scores, kind="stable")[:k].tolist())


def top_k_hit_rate(proxy_scores: ArrayLike, true_scores: ArrayLike, k: int) -> float:
    """Fraction of the true top-k (by ``true_scores``) that the proxy's top-k contains."""
    x, y = _pair(proxy_scores, true_scores)
    if not 1 <= k <= x.size:
        raise ValueError(f"k must be between 1 and the number of scores ({x.size}), got {k}")
    return len(_top_k(x, k) & _top_k(y, k)) / k


def proxy_correlations(
    df: pd.DataFrame, proxy_cols: Sequence[str], target: str = "val_acc", k: int = 10
) -> pd.DataFrame:
    """One row per proxy: Kendall tau, Spearman rho, top-k hit rate against ``target``.

    Rows where the proxy or the target is NaN/inf are dropped per proxy; ``n`` is how many were
    used and ``dropped`` how many were not. ``k`` is capped at ``n`` (the column says which k).
    """
    missing = [c for c in (*proxy_cols, target) if c not in df.columns]
    if missing:
        raise ConfigError(
            f"column(s) {', '.join(map(repr, missing))} not in the table; it has: {', '.join(map(str, df.columns))}"
        )
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rows = [_proxy_row(name, df[name], df[target], k) for name in proxy_cols]
    return pd.DataFrame(rows, columns=["proxy", "tau", "rho", "top_k_hit", "k", "n", "dropped"])


def _proxy_row(name: str, scores: pd.Series, target: pd.Series, k: int) -> dict[str, object]:
    """The correlation row of one proxy column."""
    x, y, dropped = drop_nonfinite(pd.to_numeric(scores, errors="coerce"), pd.to_numeric(target, errors="coerce"))
    k_used = min(k, x.size)
    return {
        "proxy": name,
        "tau": kendall_tau(x, y),
        "rho": spearman_rho(x, y),
        "top_k_hit": top_k_hit_rate(x, y, k_used) if k_used else float("nan"),
        "k": k_used,
        "n": int(x.size),
        "dropped": dropped,
    }
