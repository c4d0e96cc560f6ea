"""The recipe's parts on their own: mixup/cutmix in 1D/2D/3D, the schedule, the optimizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage
from nasbench.train.module import mix_batch
from nasbench.train.optim import make_optimizer
from nasbench.train.recipe import DEFAULT_LR, Recipe


@pytest.fixture(scope="module")
def digits() -> ArrayDataset:
    return load_dataset("digits")


def batch(ndim: int, digits: ArrayDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """32 real samples in 1D (rows of digits), 2D (digits) or 3D (digits swept through depth)."""
    x = torch.from_numpy(digits.x[:32]).float() / 255
    y = torch.from_numpy(digits.y[:32])
    if ndim == 1:
        return x.flatten(2), y
    if ndim == 3:
        return torch.stack([torch.roll(x, d, dims=-1) for d in range(5)], dim=2), y
    return x, y


def partner_order(n: int, seed: int) -> torch.Tensor:
    """The permutation mix_batch draws after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return torch.randperm(n)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_mixup_blends_each_sample_with_its_partner(ndim: int, digits: ArrayDataset) -> None:
    x, y = batch(ndim, digits)
    perm = partner_order(len(y), 0)
    torch.manual_seed(0)
    out, y_b, lam = mix_batch(x, y, mixup_alpha=0.4, cutmix_alpha=0.0, rng=np.random.default_rng(0))
    assert 0 < lam < 1
    assert torch.equal(y_b, y[perm])
    torch.testing.assert_close(out, lam * x + (1 - lam) * x[perm])


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_cutmix_pastes_one_box_and_weights_labels_by_its_area(ndim: int, digits: ArrayDataset) -> None:
    x, y = batch(ndim, digits)
    # A per-sample offset makes every sample differ from its partner at every position (the
    # digits' blank borders alike), so the pasted region can be read off the output.
    x = x + torch.arange(len(y)).view(-1, *[1] * (x.dim() - 1))
    boxes = 0
    for seed in range(8):
        perm = partner_order(len(y), seed)
        torch.manual_seed(seed)
        out, y_b, lam = mix_batch(x, y, mixup_alpha=0.0, cutmix_alpha=1.0, rng=np.random.default_rng(seed))
        assert torch.equal(y_b, y[perm])
        # The pasted region: where the output is the partner's and not the original's.
        inside = (out == x[perm]).all(0).all(0) & (out != x).any(0).any(0)
        if not inside.any():
            assert lam == 1.0
            continue
        boxes += 1
        # One axis-aligned box: the region is the product of its extents along each axis.
        extents = [inside.any(dim=tuple(a for a in range(ndim) if a != axis)) for axis in range(ndim)]
        box = torch.ones_like(inside)
        for axis, ext in enumerate(extents):
            box = box & ext.view([-1 if a == axis else 1 for a in range(ndim)])
        assert torch.equal(inside, box)
        mask = box.expand_as(x)
        assert torch.equal(out[mask], x[perm][mask]) and torch.equal(out[~mask], x[~mask])
        assert lam == pytest.approx(1 - box.sum().item() / box.numel())
    assert boxes >= 4  # most draws paste a box


def test_no_mixing_unless_asked(digits: ArrayDataset) -> None:
    x, y = batch(2, digits)
    out, y_b, lam = mix_batch(x, y, 0.0, 0.0, np.random.default_rng(0))
    assert out is x and y_b is y and lam == 1.0


def test_schedule_warms_up_linearly_then_follows_a_cosine_to_zero() -> None:
    model = torch.nn.Linear(4, 2)
    recipe = Recipe(lr=0.1, warmup_epochs=1)
    opt, sched = make_optimizer(model, recipe, epochs=4, steps_per_epoch=10)
    lrs = []
    for _ in range(40):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    warm, cos = np.array(lrs[:10]), np.array(lrs[10:])
    np.testing.assert_allclose(np.diff(warm), 0.1 / 11)  # equal steps up ...
    assert cos[0] == pytest.approx(0.1)  # ... to the base rate
    assert np.all(np.diff(cos) < 0) and cos[-1] < 0.001  # then down towards zero
    assert cos[15] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 15 / 30)))


def test_weight_decay_spares_norms_and_biases_and_sgd_is_nesterov(digits: ArrayDataset) -> None:
    model = build_network(Architecture(stages=(Stage("plain", 1, 16),)), 1, 10, 2)
    opt, _ = make_optimizer(model, Recipe(optimizer="sgd", weight_decay=1e-3), epochs=1, steps_per_epoch=1)
    decayed, spared = opt.param_groups
    assert decayed["weight_decay"] == 1e-3 and spared["weight_decay"] == 0.0
    assert all(p.ndim > 1 for p in decayed["params"]) and all(p.ndim == 1 for p in spared["params"])
    assert len(decayed["params"]) + len(spared["params"]) == len(list(model.parameters()))
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["nesterov"]
    assert opt.defaults["lr"] == DEFAULT_LR["sgd"]
    adamw, _ = make_optimizer(model, Recipe(), epochs=1, steps_per_epoch=1)
    assert isinstance(adamw, torch.optim.AdamW) and adamw.defaults["lr"] == DEFAULT_LR["adamw"]


def test_an_explicit_learning_rate_wins_over_the_optimizer_default() -> None:
    assert Recipe(optimizer="sgd", lr=0.2).lr == 0.2
    assert Recipe.model_validate({"optimizer": "sgd"}).lr == DEFAULT_LR["sgd"]
