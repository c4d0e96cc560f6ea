"""Rank agreement between proxy scores and trained accuracy: Kendall tau-b, Spearman rho, top-k.

Both score arrays are read as higher = better (the proxies' convention, and accuracy's).
The coefficients are computed here, with ties handled as scipy does (tau-b; average ranks),
and are NaN when either array is constant or has fewer than two values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nasbench.errors import ConfigError

ArrayLike = Sequence[float] | np.ndarray | pd.Series
_CHUNK_ELEMENTS = 1 << 20  # pairwise signs are computed this many at a time to bound memory


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


def _tied_pairs(values: np.ndarray) -> int:
    """Number of pairs with equal values."""
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def _concordance(x: np.ndarray, y: np.ndarray) -> int:
    """Concordant minus discordant pairs, by rows of pairwise signs (O(n^2) time, bounded memory)."""
    step = max(1, _CHUNK_ELEMENTS // max(1, x.size))
    total = 0
    for start in range(0, x.size, step):
        xs, ys = x[start:start + step, None], y[start:start + step, None]
        total += int((np.sign(xs - x) * np.sign(ys - y)).sum())
    return total // 2  # every unordered pair was counted in both orders


def kendall_tau(a: ArrayLike, b: ArrayLike) -> float:
    """Kendall's tau-b (ties in either array adjust the denominator), as scipy's default."""
    x, y = _pair(a, b)
    n0 = x.size * (x.size - 1) // 2
    denominator = np.sqrt(float(n0 - _tied_pairs(x)) * float(n0 - _tied_pairs(y)))
    if denominator == 0:
        return float("nan")
    return float(np.clip(_concordance(x, y) / denominator, -1.0, 1.0))


def average_ranks(values: ArrayLike) -> np.ndarray:
    """Ranks from 1, tied values sharing the mean of the ranks they span."""
    _, inverse, counts = np.unique(np.asarray(values, dtype=float), return_inverse=True,
                                   return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse.ravel()]


def spearman_rho(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rho: Pearson correlation of the average ranks."""
    x, y = _pair(a, b)
    if x.size < 2:
        return float("nan")
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt((rx @ rx) * (ry @ ry))
    if denominator == 0:
        return float("nan")
    return float(np.clip((rx @ ry) / denominator, -1.0, 1.0))


def _top_k(scores: np.ndarray, k: int) -> set[int]:
    """Indices of the k highest scores; ties broken by position (earlier first)."""
    return set(np.argsort(-scores, kind="stable")[:k].tolist())


def top_k_hit_rate(proxy_scores: ArrayLike, true_scores: ArrayLike, k: int) -> float:
    """Fraction of the true top-k (by ``true_scores``) that the proxy's top-k contains."""
    x, y = _pair(proxy_scores, true_scores)
    if not 1 <= k <= x.size:
        raise ValueError(f"k must be between 1 and the number of scores ({x.size}), got {k}")
    return len(_top_k(x, k) & _top_k(y, k)) / k


def proxy_correlations(df: pd.DataFrame, proxy_cols: Sequence[str], target: str = "val_acc",
                       k: int = 10) -> pd.DataFrame:
    """One row per proxy: Kendall tau, Spearman rho, top-k hit rate against ``target``.

    Rows where the proxy or the target is NaN/inf are dropped per proxy; ``n`` is how many were
    used and ``dropped`` how many were not. ``k`` is capped at ``n`` (the column says which k).
    """
    missing = [c for c in (*proxy_cols, target) if c not in df.columns]
    if missing:
        raise ConfigError(f"column(s) {', '.join(map(repr, missing))} not in the table; "
                          f"it has: {', '.join(map(str, df.columns))}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rows = [_proxy_row(name, df[name], df[target], k) for name in proxy_cols]
    return pd.DataFrame(rows, columns=["proxy", "tau", "rho", "top_k_hit", "k", "n", "dropped"])


def _proxy_row(name: str, scores: pd.Series, target: pd.Series, k: int) -> dict[str, object]:
    """The correlation row of one proxy column."""
    x, y, dropped = drop_nonfinite(pd.to_numeric(scores, errors="coerce"),
                                   pd.to_numeric(target, errors="coerce"))
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
