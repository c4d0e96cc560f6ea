"""The in-memory data module on real data: normalisation, batching, augmentation in 1D/2D/3D."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import Augment, TensorBatches, TensorDataModule, augment_batch, random_translate
from nasbench.data.split import make_split

needs_debian_fashion = pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed",
)


@pytest.fixture(scope="module")
def fashion() -> ArrayDataset:
    return load_dataset("fashion_mnist")


@pytest.fixture(scope="module")
def digits() -> ArrayDataset:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def mnist1d() -> ArrayDataset:
    return load_dataset("mnist1d")


def volumes(digits: ArrayDataset, depth: int = 6) -> torch.Tensor:
    """Real 3-D samples: each digit swept through depth, drifting one pixel per slice."""
    x = torch.from_numpy(digits.x[:64]).float()  # (N, 1, 8, 8)
    return torch.stack([torch.roll(x, shifts=d, dims=-1) for d in range(depth)], dim=2)  # (N, 1, D, 8, 8)


def denormalise(dm: TensorDataModule, x: torch.Tensor) -> torch.Tensor:
    return x * dm.std + dm.mean


# ---------------------------------------------------------------- normalisation

@needs_debian_fashion
def test_normalisation_uses_training_statistics_only(fashion: ArrayDataset) -> None:
    split = make_split(fashion, seed=0)
    dm = TensorDataModule(fashion, split, train_fraction=0.2)
    dm.setup(None)
    raw_train = fashion.x[split.train_subset(0.2)].astype(np.float64) / 255
    assert dm.mean.item() == pytest.approx(raw_train.mean(), rel=1e-5)
    assert dm.std.item() == pytest.approx(raw_train.std(ddof=1), rel=1e-4)
    x, _ = dm.tensors["train"]
    assert x.mean().item() == pytest.approx(0.0, abs=1e-4) and x.std().item() == pytest.approx(1.0, abs=1e-4)

    # Whatever the validation and test samples hold, the statistics stay those of training.
    altered = dataclasses.replace(fashion, x=fashion.x.copy(), x_test=np.full_like(fashion.x_test, 255), _hash=[])
    altered.x[split.val] = 255
    dm2 = TensorDataModule(altered, split, train_fraction=0.2)
    dm2.setup(None)
    assert torch.equal(dm2.mean, dm.mean) and torch.equal(dm2.std, dm.std)
    assert torch.equal(dm2.tensors["train"][0], x)


@needs_debian_fashion
def test_val_and_test_are_normalised_with_the_training_statistics(fashion: ArrayDataset) -> None:
    split = make_split(fashion, seed=0)
    dm = TensorDataModule(fashion, split, train_fraction=0.1)
    dm.setup(None)
    for part, raw in (("val", fashion.x[split.val]), ("test", fashion.x_test)):
        expected = torch.from_numpy(raw).float() / 255
        torch.testing.assert_close(denormalise(dm, dm.tensors[part][0]), expected, atol=1e-5, rtol=0)


def test_search_setup_leaves_the_test_set_alone(digits: ArrayDataset) -> None:
    dm = TensorDataModule(digits, make_split(digits, seed=0))
    dm.setup("fit")
    assert set(dm.tensors) == {"train", "val"}
    dm.setup("test")
    assert len(dm.tensors["test"][1]) == len(dm.split.test)


# ---------------------------------------------------------------- which samples go where

@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_tensors_hold_exactly_the_split_samples(digits: ArrayDataset, fraction: float) -> None:
    split = make_split(digits, seed=0)
    dm = TensorDataModule(digits, split, train_fraction=fraction)
    dm.setup(None)
    parts = {"train": split.train_subset(fraction), "val": split.val, "test": split.test}
    for part, idx in parts.items():
        x, y = dm.tensors[part]
        torch.testing.assert_close(denormalise(dm, x), torch.from_numpy(digits.x[idx]).float() / 255,
                                   atol=1e-5, rtol=0)
        assert torch.equal(y, torch.from_numpy(digits.y[idx]))


def test_a_final_training_on_the_validation_split_trains_on_it_and_validates_nothing(mnist1d: ArrayDataset) -> None:
    split = make_split(mnist1d, seed=0)
    dm = TensorDataModule(mnist1d, split, train_on_val=True)
    dm.setup("fit")
    x, y = dm.tensors["train"]
    assert torch.equal(y, torch.from_numpy(mnist1d.y[np.concatenate([split.train, split.val])]))
    torch.testing.assert_close(
        denormalise(dm, x), torch.from_numpy(mnist1d.x[np.concatenate([split.train, split.val])]).float(),
        atol=1e-4, rtol=0,
    )
    assert len(dm.val_dataloader()) == 0


def test_validation_samples_do_not_change_with_the_train_fraction(mnist1d: ArrayDataset) -> None:
    split = make_split(mnist1d, seed=0)
    raw_vals = []
    for fraction in (0.1, 0.3, 1.0):
        dm = TensorDataModule(mnist1d, split, train_fraction=fraction)
        dm.setup("fit")
        raw_vals.append(denormalise(dm, dm.tensors["val"][0]))
        assert torch.equal(dm.tensors["val"][1], torch.from_numpy(mnist1d.y[split.val]))
    for other in raw_vals[1:]:
        torch.testing.assert_close(other, raw_vals[0], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- batching

def test_training_batches_are_a_seeded_reshuffle_each_epoch(digits: ArrayDataset) -> None:
    dm = TensorDataModule(digits, make_split(digits, seed=0), batch_size=100, seed=3)
    dm.setup("fit")
    x, y = dm.tensors["train"]
    # Labels replaced by sample ids, to see which samples each epoch draws.
    ids = TensorBatches(x, torch.arange(len(y)), 100, shuffle=True, seed=3, drop_last=True)

    def epoch(batches: TensorBatches) -> torch.Tensor:
        return torch.cat([yb for _, yb in batches])

    first, second = epoch(ids), epoch(ids)
    assert len(first) == len(y) // 100 * 100  # the ragged last batch is dropped
    assert len(set(first.tolist())) == len(first)  # no sample twice in an epoch
    assert not torch.equal(first, second)  # a new order each epoch
    again = TensorBatches(x, torch.arange(len(y)), 100, shuffle=True, seed=3, drop_last=True)
    assert torch.equal(first, epoch(again))  # the same seed, the same order
    # The data module's own loader draws samples with their labels.
    for xb, yb in dm.train_dataloader():
        rows = (xb.flatten(1)[:, None, :] == x.flatten(1)[None]).all(-1)
        assert rows.any(1).all()
        assert all(yb[i] in y[rows[i]] for i in range(len(yb)))
        break


def test_augmentation_touches_training_batches_only(digits: ArrayDataset) -> None:
    dm = TensorDataModule(digits, make_split(digits, seed=0), batch_size=64,
                          augment=Augment(crop_padding=2, flip=True), eval_batch_size=50)
    dm.setup(None)
    for part, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        assert torch.equal(torch.cat([xb for xb, _ in loader]), dm.tensors[part][0])
    x, _ = dm.tensors["train"]
    rows = {tuple(r.tolist()) for r in x.flatten(1)}
    xb, _ = next(iter(dm.train_dataloader()))
    assert sum(tuple(r.tolist()) not in rows for r in xb.flatten(1)) > len(xb) // 2


# ---------------------------------------------------------------- augmentation semantics

def find_shift(out: torch.Tensor, src: torch.Tensor, p: int, fill: float) -> tuple[int, ...] | None:
    """The per-axis shift (in [-p, p]) that turns ``src`` into ``out``, filling with ``fill``."""
    spatial = src.shape[1:]
    padded = torch.nn.functional.pad(src, [p] * (2 * len(spatial)), value=fill)
    for offsets in np.ndindex(*([2 * p + 1] * len(spatial))):
        window = padded[(slice(None), *(slice(o, o + s) for o, s in zip(offsets, spatial)))]
        if torch.equal(window, out):
            return tuple(p - o for o in offsets)
    return None


def real_samples(ndim: int, digits: ArrayDataset, mnist1d: ArrayDataset) -> torch.Tensor:
    if ndim == 1:
        return torch.from_numpy(mnist1d.x[:64])
    if ndim == 2:
        return torch.from_numpy(digits.x[:64]).float()
    return volumes(digits)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_crop_translates_content_per_sample_and_axis(ndim: int, digits: ArrayDataset,
                                                     mnist1d: ArrayDataset) -> None:
    x = real_samples(ndim, digits, mnist1d)
    p, fill = 2, -7.0
    out = random_translate(x, p, torch.Generator().manual_seed(0), torch.full((1, 1, *[1] * ndim), fill))
    assert out.shape == x.shape
    shifts = [find_shift(o, s, p, fill) for o, s in zip(out, x)]
    assert all(s is not None for s in shifts), "an output is not a padded translation of its input"
    for axis in range(ndim):  # every axis moves, by different amounts for different samples
        assert len({s[axis] for s in shifts}) > 1


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_flip_mirrors_the_last_axis_of_about_half_the_samples(ndim: int, digits: ArrayDataset,
                                                              mnist1d: ArrayDataset) -> None:
    x = real_samples(ndim, digits, mnist1d)
    out = augment_batch(x, Augment(flip=True), torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, s.flip(-1)) for o, s in zip(out, x)]
    kept = [torch.equal(o, s) for o, s in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 16 < sum(f and not k for f, k in zip(flipped, kept)) < 48


def test_no_flip_unless_the_recipe_asks(digits: ArrayDataset) -> None:
    x = torch.from_numpy(digits.x[:64]).float()
    out = augment_batch(x, Augment(crop_padding=0, flip=False), torch.Generator().manual_seed(0))
    assert torch.equal(out, x)


@needs_debian_fashion
def test_crop_padding_shows_black_in_normalised_units(fashion: ArrayDataset) -> None:
    dm = TensorDataModule(fashion, make_split(fashion, seed=0), train_fraction=0.05, batch_size=256,
                          augment=Augment(crop_padding=4))
    dm.setup("fit")
    xb, _ = next(iter(dm.train_dataloader()))
    black = (-dm.mean / dm.std).item()
    # Fashion-MNIST backgrounds are black, so after translation the border rows stay black,
    # not the mean grey a zero in normalised units would give.
    border = torch.cat([xb[..., 0, :].flatten(), xb[..., -1, :].flatten(), xb[..., 0].flatten(), xb[..., -1].flatten()])
    assert (border - black).abs().median().item() < 1e-5


# ---------------------------------------------------------------- resolution and device

@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_resolution_fidelity_resizes_every_spatial_axis(ndim: int, digits: ArrayDataset,
                                                        mnist1d: ArrayDataset) -> None:
    if ndim == 3:
        vol = volumes(digits).to(torch.uint8).numpy()
        ds = ArrayDataset("vol", vol, digits.y[:64], 10)
    else:
        ds = mnist1d if ndim == 1 else digits
    dm = TensorDataModule(ds, make_split(ds, val_size=8, test_size=8, seed=0), resolution=12)
    dm.setup("fit")
    assert dm.input_shape == (1, *[12] * ndim)
    assert dm.tensors["train"][0].shape[1:] == dm.input_shape == dm.tensors["val"][0].shape[1:]


def test_tensors_follow_the_device_chosen_after_setup(digits: ArrayDataset) -> None:
    # The trainer picks the device after the data module may have been set up; "meta" stands
    # in for a GPU on a machine without one.
    dm = TensorDataModule(digits, make_split(digits, seed=0))
    dm.setup("fit")
    dm.device = torch.device("meta")
    dm.setup("fit")
    assert all(x.device.type == "meta" and y.device.type == "meta" for x, y in dm.tensors.values())
