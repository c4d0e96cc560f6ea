"""`Fidelity.time`: a training trains as many of its epochs as fit in its allowance, judged from its
pace over a few steps at the start; its schedule runs over those epochs; measuring leaves the
training itself as it would have been."""

from __future__ import annotations

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import make_split
from nasbench.nn.builder import build_network
from nasbench.space.notation import parse_architecture
from nasbench.train.optim import lr_factor
from nasbench.train.pace import MARGIN, Pace, epochs_within, measure_pace
from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.run import augment_from, memory_format_for
from tests.train.test_train_network import trial

RECIPE = Recipe(batch_size=32, crop_padding=1, flip=True)
# Dropout draws from torch's generator at every training step: a measurement that did not restore
# it would change the training that follows.
DROPPING = parse_architecture("s8 > conv1x16k3/2 > conv1x32k3/2 > relu bn drop0.3")


@pytest.fixture(scope="module")
def digits() -> ArrayDataset:
    return load_dataset("digits")


def test_the_epochs_are_as_many_as_fit_after_measuring_and_testing():
    pace = Pace(step_s=0.1, eval_sample_s=0.001, measured_s=1.0)
    epoch = MARGIN * (10 * 0.1 + 100 * 0.001)  # 10 steps and 100 validation samples
    assert pace.epoch_s(10, 100) == pytest.approx(epoch)
    assert epochs_within(1.0 + 7.5 * epoch, 12, pace, 10, 100, 0) == 7
    # The test pass comes off the allowance first.
    test_s = MARGIN * 2000 * 0.001
    assert epochs_within(1.0 + test_s + 7.5 * epoch, 12, pace, 10, 100, 2000) == 7
    assert epochs_within(1.0 + 7.5 * epoch, 12, pace, 10, 100, 2000) == 5
    assert epochs_within(3600, 12, pace, 10, 100, 2000) == 12  # never more than the fidelity's
    # A network too slow for its allowance still trains (and is tested) once.
    assert epochs_within(0.5, 12, pace, 10, 100, 2000) == 1


def test_the_pace_is_measured_on_the_training_batches_without_touching_the_network(digits):
    torch.manual_seed(0)
    model = build_network(DROPPING, digits.in_channels, digits.num_classes, digits.ndim)
    layout = memory_format_for(model)
    model = model.to(memory_format=layout)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dm = TensorDataModule(digits, make_split(digits, seed=0), batch_size=32, augment=augment_from(RECIPE))
    dm.setup("fit")
    rng = torch.get_rng_state()
    pace = measure_pace(model, dm, RECIPE, torch.device("cpu"), layout)
    assert 0 < pace.step_s < pace.measured_s and pace.eval_sample_s > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # a copy was trained
    assert torch.equal(torch.get_rng_state(), rng)  # the training's random draws are unchanged


def test_an_allowance_that_fits_every_epoch_changes_nothing(digits):
    _, _, plain = trial(digits, RECIPE, 3, seed=4, arch=DROPPING)
    _, _, timed = trial(digits, RECIPE, 3, seed=4, arch=DROPPING, time_limit=3600.0)
    assert timed.epochs == 3
    assert [m.train_loss for m in timed.history] == [m.train_loss for m in plain.history]
    assert [m.val_acc for m in timed.history] == [m.val_acc for m in plain.history]


def test_a_short_allowance_trains_fewer_epochs_on_a_schedule_that_still_anneals(digits):
    lrs: list[float] = []
    hook = register_optimizer_step_post_hook(lambda opt, args, kwargs: lrs.append(opt.param_groups[0]["lr"]))
    try:
        _, dm, result = trial(digits, RECIPE, 50, time_limit=1e-3, evaluate_test=True)
    finally:
        hook.remove()
    assert result.epochs == 1 and result.test_acc is not None
    # The last step's learning rate is the cosine schedule's end over the one epoch trained, not
    # the mid-schedule rate a run of 50 epochs would have reached after one.
    steps = len(dm.train_dataloader())
    warmup = int(RECIPE.warmup_epochs * steps)
    assert lrs[-1] == pytest.approx(RECIPE.lr * lr_factor(steps - 1, warmup, steps))
    assert lrs[-1] < 0.01 * RECIPE.lr


def test_a_time_is_read_as_a_duration_and_stored_only_when_given():
    assert Fidelity(epochs=12, time="35m").time == 2100.0
    assert Fidelity(epochs=12, time=90).time == 90.0
    assert "time" not in Fidelity(epochs=12).model_dump(mode="json")  # what older studies stored
    assert Fidelity(epochs=12, time="35m").epochs_words() == "up to 12 epochs, as many as fit in 35 min each"
    assert Fidelity(epochs=1).epochs_words() == "1 epoch"
