"""Fixed, seeded train / validation / test splits. Validation is always carved from training data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """Indices into the data set's training arrays (and the official test set, if any).

    ``seed`` is the split's own seed; it also fixes the low-fidelity training subsets, so every
    trial at one ``train_fraction`` trains on the same samples whatever its own seed.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray  # into x_test when the data set has an official test set, else into x
    test_is_official: bool
    seed: int = 0

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def train_subset(self, fraction: float) -> np.ndarray:
        """The training indices a trial at ``fraction`` of the training data uses."""
        return subsample(self.train, fraction, self.seed)


def _count(size: float | int, n: int, field: str) -> int:
    """A size given as a fraction (0 < size < 1) or a whole count, as a count out of ``n``."""
    if 0 < size < 1:
        k = round(size * n)
    elif float(size).is_integer():
        k = int(size)
    else:
        raise ConfigError(f"field '{field}': {size} is neither a fraction below 1 nor a whole count.")
    if not 0 < k < n:
        raise ConfigError(f"field '{field}': {size} leaves no samples on one side of a split of {n}.")
    return k


def make_split(ds: ArrayDataset, val_size: float | int = 0.1, test_size: float | int = 0.2, seed: int = 0) -> Split:
    """Seeded split; ``test_size`` is used only when the data set has no official test set.

    Sizes are a fraction (< 1) or a count. ``test_size`` counts out of the whole data set,
    ``val_size`` out of the training samples left once the test set is held out. The
    permutation depends only on the seed and the number of samples, so the split is stable
    across runs and machines, and the test set does not move when ``val_size`` changes.
    """
    rng = np.random.default_rng(seed)
    n = len(ds.y)
    order = rng.permutation(n)
    if ds.y_test is not None:  # the official test set
        test = np.arange(len(ds.y_test))
        rest = order
    else:
        n_test = _count(test_size, n, "data.test_size")
        test, rest = np.sort(order[:n_test]), order[n_test:]
    n_val = _count(val_size, len(rest), "data.val_size")
    return Split(
        train=np.sort(rest[n_val:]),
        val=np.sort(rest[:n_val]),
        test=test,
        test_is_official=ds.has_official_test,
        seed=seed,
    )


def subsample(indices: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded ``fraction`` of ``indices`` (the low-fidelity training subset).

    The subset is a prefix of one seeded permutation, so for one seed the subsets are nested:
    the samples of a 25 % trial are among those of a 50 % trial.
    """
    if not 0 < fraction <= 1:
        raise ConfigError(f"field 'fidelity.train_fraction': {fraction} must lie in (0, 1].")
    if fraction == 1.0:
        return indices
    k = max(1, round(len(indices) * fraction))
    order = np.random.default_rng(seed + 7919).permutation(len(indices))  # offset: not the split's stream
    return np.sort(indices[order[:k]])
