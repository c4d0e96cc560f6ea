"""Fixed, seeded train / validation / test splits. Validation is always carved from training data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """Indices into the data set's training arrays (and the official test set, if any)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray  # into x_test when the data set has an official test set, else into x
    test_is_official: bool

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _count(size: float | int, n: int, field: str) -> int:
    k = int(round(size * n)) if isinstance(size, float) and size < 1 else int(size)
    if not 0 < k < n:
        raise ConfigError(f"field '{field}': {size} leaves no samples on one side of a split of {n}.")
    return k


def make_split(ds: ArrayDataset, val_size: float | int = 0.1, test_size: float | int = 0.2,
               seed: int = 0) -> Split:
    """Seeded split; ``test_size`` is used only when the data set has no official test set.

    Sizes are a fraction (< 1) or a count. The permutation depends only on the seed and the
    number of samples, so the split is stable across runs and machines.
    """
    rng = np.random.default_rng(seed)
    n = len(ds.y)
    order = rng.permutation(n)
    if ds.has_official_test:
        test = np.arange(len(ds.y_test))
        rest = order
    else:
        n_test = _count(test_size, n, "data.test_size")
        test, rest = np.sort(order[:n_test]), order[n_test:]
    n_val = _count(val_size, len(rest), "data.val_size")
    return Split(train=np.sort(rest[n_val:]), val=np.sort(rest[:n_val]), test=test,
                 test_is_official=ds.has_official_test)


def subsample(indices: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded fraction of ``indices`` (the low-fidelity training subset)."""
    if fraction >= 1.0:
        return indices
    k = max(1, int(round(len(indices) * fraction)))
    rng = np.random.default_rng(seed + 7919)
    return np.sort(rng.choice(indices, size=k, replace=False))
