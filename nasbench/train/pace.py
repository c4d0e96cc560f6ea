"""How many epochs of a training fit in a time allowance (``Fidelity.time``).

A final re-training's cost depends on the network the search chose: on two cores one Fashion-MNIST
finalist took 13 minutes for 12 epochs, another 50. A study that must end within its hour says how
long its final stage may take; each network then trains as many of its epochs as fit, judged from
its pace over a few steps at the start, and its learning-rate schedule runs over those epochs, so
it ends annealed rather than cut off (budgeted training: Li, Yumer and Ramanan, ICLR 2020).

The pace is measured on a copy of the network, with the recipe's optimizer, on the data module's
own (augmented) batches, in the layout and on the device and threads the training uses: the
conditions the training meets, including other trainings that share the machine at the time. The
training itself is not touched: random state is restored, so with the same epochs it is the same
training as without an allowance.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from itertools import cycle, islice

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.data.module import TensorDataModule
from nasbench.train.optim import make_optimizer
from nasbench.train.recipe import Recipe

WARMUP_STEPS = 2  # allocator and oneDNN primitive set-up, slower than the steps after
TIMED_STEPS = 8
# A Lightning trial runs at 0.92-0.96 of the bare loop's speed (benchmarks/RESULTS.md, training
# protocol); the margin covers that and the noise of a few timed steps.
MARGIN = 1.1


@dataclass(frozen=True)
class Pace:
    """Seconds per training step (one batch forward, backward and update) and per evaluated sample."""

    step_s: float
    eval_sample_s: float
    measured_s: float  # what measuring took (it counts against the allowance)

    def epoch_s(self, steps: int, val_samples: int) -> float:
        """One epoch: its training steps and, when there is a validation split, its validation."""
        return MARGIN * (steps * self.step_s + val_samples * self.eval_sample_s)


def measure_pace(
    model: nn.Module, dm: TensorDataModule, recipe: Recipe, device: torch.device, layout: torch.memory_format
) -> Pace:
    """The pace of training ``model`` (its weights already in ``layout``) on ``dm``'s batches."""
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        trial = copy.deepcopy(model).to(device).train()
        opt, _ = make_optimizer(trial, recipe, epochs=1, steps_per_epoch=1)
        batches = islice(cycle(dm.train_dataloader()), WARMUP_STEPS + TIMED_STEPS)
        start = 0.0
        for i, (x, y) in enumerate(batches):
            if i == WARMUP_STEPS:
                start = _clock(device)
            loss = F.cross_entropy(trial(x.contiguous(memory_format=layout)), y, label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        step_s = (_clock(device) - start) / TIMED_STEPS
        trial.eval()
        x, _ = next(iter(dm.train_dataloader()))
        with torch.no_grad():
            trial(x.contiguous(memory_format=layout))  # warm-up at the evaluation's shapes
            start = _clock(device)
            trial(x.contiguous(memory_format=layout))
            eval_sample_s = (_clock(device) - start) / len(x)
    return Pace(step_s, eval_sample_s, time.perf_counter() - t0)


def epochs_within(seconds: float, epochs: int, pace: Pace, steps: int, val_samples: int, test_samples: int) -> int:
    """As many of ``epochs`` as fit in ``seconds`` (what measuring took and the test pass come off
    first); at least one, so that a network too slow for its allowance is still trained and
    tested, and the report shows what it cost."""
    left = seconds - pace.measured_s - MARGIN * test_samples * pace.eval_sample_s
    fit = math.floor(left / pace.epoch_s(steps, val_samples)) if left > 0 else 0
    return max(1, min(epochs, fit))


def _clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()
