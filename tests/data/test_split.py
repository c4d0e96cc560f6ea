"""Seeded train / validation / test splits on real data: sizes, disjointness, stability, fidelity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.split import make_split, subsample
from nasbench.errors import ConfigError

needs_debian_fashion = pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed",
)


@pytest.fixture(scope="module")
def digits() -> ArrayDataset:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def fashion() -> ArrayDataset:
    return load_dataset("fashion_mnist")


def assert_disjoint(*parts: np.ndarray) -> None:
    seen: set[int] = set()
    for part in parts:
        assert len(set(part.tolist())) == len(part), "a split part repeats an index"
        assert seen.isdisjoint(part.tolist())
        seen.update(part.tolist())


# ---------------------------------------------------------------- sizes and disjointness

def test_split_without_official_test_carves_all_three_parts_disjointly(digits: ArrayDataset) -> None:
    split = make_split(digits, val_size=0.1, test_size=0.2, seed=0)
    n = len(digits.y)
    n_test = round(0.2 * n)
    assert not split.test_is_official
    assert len(split.test) == n_test
    assert len(split.val) == round(0.1 * (n - n_test))  # val is carved from what is left for training
    assert_disjoint(split.train, split.val, split.test)
    assert len(split.train) + len(split.val) + len(split.test) == n


@needs_debian_fashion
def test_official_test_set_is_kept_and_val_comes_from_training_data(fashion: ArrayDataset) -> None:
    split = make_split(fashion, val_size=0.1, seed=0)
    assert split.test_is_official
    np.testing.assert_array_equal(split.test, np.arange(10_000))  # every official test sample, only them
    assert len(split.val) == 6_000
    assert_disjoint(split.train, split.val)
    assert len(split.train) + len(split.val) == 60_000


@pytest.mark.parametrize(("val_size", "expected"), [(0.25, 360), (100, 100), (100.0, 100), (1, 1)])
def test_val_size_as_fraction_or_count_is_respected(digits: ArrayDataset, val_size: float, expected: int) -> None:
    split = make_split(digits, val_size=val_size, test_size=357, seed=3)
    assert len(split.test) == 357
    assert len(split.val) == expected


@pytest.mark.parametrize("val_size", [2.5, 1440, 5000, 0])
def test_impossible_val_size_is_refused_naming_the_field(digits: ArrayDataset, val_size: float) -> None:
    with pytest.raises(ConfigError, match=r"data.val_size"):
        make_split(digits, val_size=val_size, test_size=357)


def test_test_set_does_not_move_when_val_size_changes(digits: ArrayDataset) -> None:
    a = make_split(digits, val_size=0.1, seed=5)
    b = make_split(digits, val_size=0.3, seed=5)
    np.testing.assert_array_equal(a.test, b.test)


# ---------------------------------------------------------------- stability

def test_same_seed_gives_the_same_split_and_another_seed_a_different_one(digits: ArrayDataset) -> None:
    a, b, c = (make_split(digits, seed=s) for s in (7, 7, 8))
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
        assert not np.array_equal(getattr(a, part), getattr(c, part))


def test_split_is_stable_across_processes_and_versions(digits: ArrayDataset) -> None:
    # Stored results are only comparable while the split stays put: these indices were recorded
    # when the split was written; a change (e.g. in NumPy's generator) must be noticed.
    split = make_split(digits, val_size=0.1, test_size=0.2, seed=0)
    assert split.sizes() == {"train": 1294, "val": 144, "test": 359}
    assert split.val[:8].tolist() == [41, 49, 70, 80, 114, 122, 135, 144]
    assert split.test[:8].tolist() == [2, 12, 13, 20, 28, 38, 44, 53]


# ---------------------------------------------------------------- the fidelity subset

def test_train_fraction_takes_a_nested_subset_of_training_only(digits: ArrayDataset) -> None:
    split = make_split(digits, seed=1)
    quarter, half, full = (split.train_subset(f) for f in (0.25, 0.5, 1.0))
    assert len(quarter) == round(0.25 * len(split.train)) and len(half) == round(0.5 * len(split.train))
    np.testing.assert_array_equal(full, split.train)
    assert set(quarter) <= set(half) <= set(split.train)
    assert_disjoint(full, split.val, split.test)


def test_train_subset_depends_on_the_split_seed_only(digits: ArrayDataset) -> None:
    # Every trial at one fidelity trains on the same samples, whatever its own seed.
    a, b, c = make_split(digits, seed=2), make_split(digits, seed=2), make_split(digits, seed=4)
    np.testing.assert_array_equal(a.train_subset(0.3), b.train_subset(0.3))
    assert not np.array_equal(a.train_subset(0.3), c.train_subset(0.3))


def test_fidelity_subsets_never_reach_val_or_test(digits: ArrayDataset) -> None:
    split = make_split(digits, seed=0)
    for fraction in (0.05, 0.5, 1.0):
        subset = split.train_subset(fraction)
        assert set(subset).isdisjoint(split.val) and set(subset).isdisjoint(split.test)


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_bad_train_fraction_is_refused_naming_the_field(fraction: float) -> None:
    with pytest.raises(ConfigError, match="train_fraction"):
        subsample(np.arange(100), fraction, seed=0)
