"""train_network on real data: 1D, 2D and 3D through one trainer; metrics, determinism, divergence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import make_split
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage
from nasbench.train.metrics import EpochMetrics
from nasbench.train.module import DivergenceError
from nasbench.train.recipe import Recipe
from nasbench.train.run import TrainResult, augment_from, memory_format_for, pick_device, train_network

SMALL = Architecture(stages=(Stage("plain", 1, 16, downsample="stride"), Stage("plain", 1, 32, downsample="stride")),
                     stem_width=8)
METRICS = {"epoch", "train_loss", "val_loss", "val_acc", "epoch_time_s", "train_samples_per_s"}


@pytest.fixture(scope="module")
def digits() -> ArrayDataset:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def volumes(digits: ArrayDataset, tmp_path_factory: pytest.TempPathFactory) -> ArrayDataset:
    """A 3-D .npz data set made from the digits: each digit swept through 6 slices, drifting
    one pixel per slice, written and read back through the npz loader as a user would."""
    x = np.stack([np.roll(digits.x, d, axis=-1) for d in range(6)], axis=2)  # (N, 1, 6, 8, 8)
    path = tmp_path_factory.mktemp("npz") / "volumes.npz"
    np.savez(path, x=x, y=digits.y)
    return load_dataset("npz", path=path)


def trial(ds: ArrayDataset, recipe: Recipe, epochs: int, seed: int = 0, arch: Architecture = SMALL,
          **kwargs: object) -> tuple[nn.Module, TensorDataModule, TrainResult]:
    """What the search worker does for one trial: seed, build, data module, train."""
    torch.manual_seed(seed)
    model = build_network(arch, ds.in_channels, ds.num_classes, ds.ndim)
    dm = TensorDataModule(ds, make_split(ds, seed=0), batch_size=recipe.batch_size, seed=seed,
                          augment=augment_from(recipe))
    result = train_network(model, dm, recipe, epochs, seed=seed, device="cpu", **kwargs)
    return model, dm, result


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).sum().item() / len(y)


# ---------------------------------------------------------------- every dimensionality, one trainer

@pytest.mark.parametrize("name", ["digits", "mnist1d", "volumes"])
def test_one_epoch_trains_in_1d_2d_and_3d(name: str, request: pytest.FixtureRequest) -> None:
    ds = request.getfixturevalue(name) if name != "mnist1d" else load_dataset("mnist1d")
    _, dm, result = trial(ds, Recipe(batch_size=64), epochs=1)
    assert dm.tensors["train"][0].dim() == ds.ndim + 2
    assert result.epochs == 1 and set(result.history[0].to_dict()) == METRICS
    assert all(v is not None and math.isfinite(v) for v in result.history[0].to_dict().values())
    assert result.val_acc > 0.1  # 10 classes: one epoch already beats chance


# ---------------------------------------------------------------- the metrics

def test_epoch_metrics_match_an_independent_evaluation(digits: ArrayDataset) -> None:
    reported: list[EpochMetrics] = []
    model, dm, result = trial(digits, Recipe(batch_size=64), epochs=2, on_epoch=reported.append,
                              evaluate_test=True)
    assert reported == result.history and [h.epoch for h in reported] == [1, 2]
    last = result.history[-1]
    val_loss, val_acc = evaluate(model, *dm.tensors["val"])
    assert last.val_acc == pytest.approx(val_acc, abs=1e-9) == result.val_acc
    assert last.val_loss == pytest.approx(val_loss, rel=1e-5) == result.val_loss
    test_loss, test_acc = evaluate(model, *dm.tensors["test"])
    assert result.test_acc == pytest.approx(test_acc, abs=1e-9)
    assert result.test_loss == pytest.approx(test_loss, rel=1e-5)
    samples = len(dm.train_dataloader()) * 64
    for h in result.history:  # throughput counts training time only, within the epoch's wall time
        assert h.train_samples_per_s * h.epoch_time_s >= samples
    assert result.history[1].train_loss < result.history[0].train_loss


def test_train_loss_is_the_mean_loss_over_the_epoch_samples(digits: ArrayDataset) -> None:
    # A model without batch statistics and a learning rate too small to move it: the reported
    # train loss must equal the cross-entropy over the training samples, val loss over val.
    split = make_split(digits, val_size=160, test_size=357, seed=0)  # 1,280 training samples: 20 batches
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    dm = TensorDataModule(digits, split, batch_size=64)
    result = train_network(model, dm, Recipe(batch_size=64, lr=1e-12, weight_decay=0.0), 1, device="cpu")
    train_loss, _ = evaluate(model, *dm.tensors["train"])
    val_loss, val_acc = evaluate(model, *dm.tensors["val"])
    assert result.history[0].train_loss == pytest.approx(train_loss, rel=1e-5)
    assert result.val_loss == pytest.approx(val_loss, rel=1e-5) and result.val_acc == pytest.approx(val_acc)


# ---------------------------------------------------------------- reproducibility

def test_same_seed_and_data_give_the_same_result_on_cpu(digits: ArrayDataset) -> None:
    recipe = Recipe(batch_size=64, crop_padding=1, mixup_alpha=0.2)  # every random draw in play
    _, _, a = trial(digits, recipe, epochs=2, seed=11)
    _, _, b = trial(digits, recipe, epochs=2, seed=11)
    _, _, c = trial(digits, recipe, epochs=2, seed=12)
    assert a.val_acc == b.val_acc

    def losses(result: TrainResult) -> list[tuple[float, float]]:
        return [(h.train_loss, h.val_loss) for h in result.history]

    assert losses(a) == losses(b)
    assert a.history[-1].train_loss != c.history[-1].train_loss


def test_2d_networks_train_channels_last_and_learn_what_the_default_layout_learns(digits: ArrayDataset) -> None:
    recipe = Recipe(batch_size=64, crop_padding=1)
    split = make_split(digits, 0.2, 0.2, 0)
    results, layouts = [], []
    for channels_last in (False, None):  # None: the layout training picks, channels_last for 2D
        torch.manual_seed(3)
        model = build_network(SMALL, digits.in_channels, digits.num_classes, ndim=2)
        dm = TensorDataModule(digits, split, batch_size=64, augment=augment_from(recipe), seed=3)
        results.append(train_network(model, dm, recipe, 2, seed=3, channels_last=channels_last))
        conv = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]  # C > 1: layouts differ
        layouts.append(conv.weight.is_contiguous(memory_format=torch.channels_last)
                       and not conv.weight.is_contiguous())
    assert layouts == [False, True]
    default, nhwc = results
    # The same arithmetic in another order: equal up to float rounding, epoch by epoch.
    for a, b in zip(default.history, nhwc.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-3)
        assert b.val_acc == pytest.approx(a.val_acc, abs=0.01)


def test_1d_networks_keep_the_default_layout() -> None:
    model = build_network(SMALL, 1, 10, ndim=1)
    assert memory_format_for(model) is torch.contiguous_format
    assert memory_format_for(build_network(SMALL, 1, 10, ndim=2)) is torch.channels_last


# ---------------------------------------------------------------- the recipe

@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_both_optimizers_learn_with_their_default_learning_rate(digits: ArrayDataset, optimizer: str) -> None:
    _, _, result = trial(digits, Recipe(optimizer=optimizer, batch_size=64), epochs=2)
    assert result.val_acc > 0.5  # chance is 0.1


@pytest.mark.parametrize("options", [
    {"label_smoothing": 0.1},
    {"mixup_alpha": 0.2},
    {"cutmix_alpha": 1.0},
    {"mixup_alpha": 0.2, "cutmix_alpha": 1.0, "label_smoothing": 0.1, "crop_padding": 1, "flip": True},
])
def test_regularising_recipes_train(digits: ArrayDataset, options: dict) -> None:
    _, _, result = trial(digits, Recipe(batch_size=64, **options), epochs=2)
    assert all(math.isfinite(h.train_loss) for h in result.history)
    assert result.val_acc > 0.2  # well above chance, even with the harder training task


def test_gradient_clipping_bounds_every_step(digits: ArrayDataset) -> None:
    norms: list[float] = []

    def record(optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())

    handle = register_optimizer_step_post_hook(record)
    try:
        trial(digits, Recipe(batch_size=64, grad_clip=0.05), epochs=1)
        clipped, norms[:] = list(norms), []
        trial(digits, Recipe(batch_size=64), epochs=1)
    finally:
        handle.remove()
    assert max(clipped) <= 0.05 * (1 + 1e-4)
    assert max(norms) > 0.05  # without the clip, gradients are larger: the bound is the clip's doing


# ---------------------------------------------------------------- divergence

@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_exploding_learning_rate_stops_the_trial_in_its_first_epoch(digits: ArrayDataset, optimizer: str) -> None:
    reported: list[EpochMetrics] = []
    with pytest.raises(DivergenceError, match=r"training loss became (nan|inf).*epoch 1\).*lr=1e\+06"):
        trial(digits, Recipe(optimizer=optimizer, lr=1e6, batch_size=64), epochs=5, on_epoch=reported.append)
    assert reported == []  # stopped before a single epoch was reported


class Overflow(nn.Module):
    """A network whose logits overflow to infinity."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * math.inf


def test_model_producing_inf_stops_at_the_first_step(digits: ArrayDataset) -> None:
    torch.manual_seed(0)
    model = Overflow(build_network(SMALL, 1, 10, 2))
    dm = TensorDataModule(digits, make_split(digits, seed=0), batch_size=64)
    with pytest.raises(DivergenceError, match=r"training loss became nan at step 1 \(epoch 1\)"):
        train_network(model, dm, Recipe(batch_size=64), 3, device="cpu")


# ---------------------------------------------------------------- device

def test_device_selection() -> None:
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")
