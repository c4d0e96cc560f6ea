"""One LightningModule for classification: wraps the model it is given, trains it by a Recipe."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.core.optimizer import LightningOptimizer
from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from nasbench.train.metrics import EpochMetrics
from nasbench.train.optim import make_optimizer
from nasbench.train.recipe import Recipe

Batch = tuple[torch.Tensor, torch.Tensor]

# Steps between divergence checks on an accelerator, where each check waits for the device.
# On the CPU a check costs nothing, so every step is checked.
DIVERGENCE_CHECK_EVERY = 50


class DivergenceError(RuntimeError):
    """Training loss became NaN or infinite."""


class ClassificationModule(pl.LightningModule):
    """Cross-entropy training with optional label smoothing, mixup/cutmix, warm-up + cosine LR.

    Per-step values are accumulated on the device and read once per epoch: no per-step logging
    or host synchronisation on the hot path.
    """

    def __init__(
        self,
        model: nn.Module,
        recipe: Recipe,
        epochs: int,
        steps_per_epoch: int,
        seed: int = 0,
        on_epoch: Callable[[EpochMetrics], None] | None = None,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        super().__init__()
        self.model = model
        # Batches are laid out as the model's weights are (see nasbench.train.run.memory_format_for).
        self.memory_format = memory_format
        self.automatic_optimization = False  # see _optimise
        self.recipe, self.epochs, self.steps_per_epoch = recipe, epochs, steps_per_epoch
        self.on_epoch = on_epoch  # receives each epoch's metrics (e.g. to report them to Ray Tune)
        self.rng = np.random.default_rng(seed)  # mixup/cutmix draws
        self.history: list[EpochMetrics] = []
        self.epoch_metrics: dict[str, float] = {}
        self._train_loss_sum: torch.Tensor | None = None
        self._train_count = 0
        self._eval: dict[str, list[torch.Tensor]] = {}
        self._t_epoch = 0.0
        self._t_train_end: float | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning records which hook runs by setting plain attributes on the module dozens of
        # times per step; nn.Module's checks for parameters and submodules are wasted on those.
        if name in self.__dict__ and isinstance(value, (str, int, float, type(None))):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self._layout(x))

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        if self.memory_format is torch.contiguous_format:
            return x
        return x.contiguous(memory_format=self.memory_format)

    # --- training ------------------------------------------------------------------------
    def training_step(self, batch: Batch, batch_idx: int) -> None:
        loss = self._loss(*batch)
        self._check_divergence(loss)
        self._optimise(loss)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch's loss (mixed labels when mixup/cutmix is on); accumulated for the epoch."""
        x, y_b, lam = mix_batch(x, y, self.recipe.mixup_alpha, self.recipe.cutmix_alpha, self.rng)
        logits = self(x)
        ls = self.recipe.label_smoothing
        loss = F.cross_entropy(logits, y, label_smoothing=ls)
        if lam < 1.0:
            loss = lam * loss + (1 - lam) * F.cross_entropy(logits, y_b, label_smoothing=ls)
        detached = loss.detach() * len(y)
        self._train_loss_sum = detached if self._train_loss_sum is None else self._train_loss_sum + detached
        self._train_count += len(y)
        return loss

    def _optimise(self, loss: torch.Tensor) -> None:
        # Written out (Lightning's manual optimization) rather than left to Lightning: that spares
        # its closure and five hook calls per step, about a quarter of its measured per-step
        # cost on the CPU (benchmarks/RESULTS.md, training protocol).
        opt = cast(LightningOptimizer, self.optimizers())  # configure_optimizers gives one optimizer
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.recipe.grad_clip is not None:
            # A LightningOptimizer is, at run time, a subclass of the optimizer it wraps.
            self.clip_gradients(
                cast(torch.optim.Optimizer, opt),
                gradient_clip_val=self.recipe.grad_clip,
                gradient_clip_algorithm="norm",
            )
        opt.step()
        cast(LRScheduler, self.lr_schedulers()).step()  # and one scheduler

    def _check_divergence(self, loss: torch.Tensor) -> None:
        if loss.device.type != "cpu" and self.global_step % DIVERGENCE_CHECK_EVERY:
            return
        value = loss.item()
        if not math.isfinite(value):
            raise DivergenceError(
                f"training loss became {value} at step {self.global_step + 1} (epoch {self.current_epoch + 1}); "
                f"lower the learning rate (lr={self.recipe.lr:g}) or set grad_clip"
            )

    def on_train_epoch_start(self) -> None:
        self._train_loss_sum, self._train_count = None, 0
        self._t_train_end = None
        self._t_epoch = time.perf_counter()

    def on_validation_epoch_start(self) -> None:
        if self.trainer.state.fn == "fit":
            self._t_train_end = self._now()

    def on_train_epoch_end(self) -> None:
        # Lightning runs validation before this hook, so the epoch's figures are complete here.
        if self._train_loss_sum is None:
            return
        loss = float(self._train_loss_sum) / max(1, self._train_count)
        if not math.isfinite(loss):
            raise DivergenceError(
                f"training loss became {loss} in epoch {self.current_epoch + 1}; "
                f"lower the learning rate (lr={self.recipe.lr:g}) or set grad_clip"
            )
        now = self._now()
        train_time = (self._t_train_end or now) - self._t_epoch
        metrics = EpochMetrics(
            epoch=self.current_epoch + 1,
            train_loss=loss,
            val_loss=self.epoch_metrics.pop("val_loss", None),
            val_acc=self.epoch_metrics.pop("val_acc", None),
            epoch_time_s=now - self._t_epoch,
            train_samples_per_s=self._train_count / max(train_time, 1e-9),
        )
        self.history.append(metrics)
        if self.on_epoch is not None:
            self.on_epoch(metrics)

    def _now(self) -> float:
        # On an accelerator, wait for queued work so the clock measures it.
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    # --- evaluation (one shared step for validation and test) ----------------------------
    def _eval_step(self, batch: Batch, stage: str) -> None:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, reduction="sum")
        correct = (logits.argmax(1) == y).sum()
        acc = self._eval.get(stage)
        self._eval[stage] = (
            [loss, correct, torch.tensor(len(y))] if acc is None else [acc[0] + loss, acc[1] + correct, acc[2] + len(y)]
        )

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _close_eval(self, stage: str) -> None:
        loss, correct, n = (float(t) for t in self._eval.pop(stage))
        self.epoch_metrics[f"{stage}_loss"] = loss / max(n, 1)
        self.epoch_metrics[f"{stage}_acc"] = correct / max(n, 1)

    def on_validation_epoch_end(self) -> None:
        if "val" in self._eval:
            self._close_eval("val")

    def on_test_epoch_end(self) -> None:
        if "test" in self._eval:
            self._close_eval("test")

    # --- optimisation --------------------------------------------------------------------
    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        opt, sched = make_optimizer(self.model, self.recipe, self.epochs, self.steps_per_epoch)
        return {"optimizer": opt, "lr_scheduler": sched}  # stepped once per optimizer step, in _optimise


def mix_batch(
    x: torch.Tensor, y: torch.Tensor, mixup_alpha: float, cutmix_alpha: float, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mixup or cutmix (one of them per batch, at even odds, when both are on).

    Returns the mixed inputs, the partner labels and ``lam``, the weight of the original labels
    ``y`` in the loss. The partner of each sample is another sample of the batch (a random
    permutation from torch's generator); ``lam`` comes from ``rng``. Any dimensionality.
    """
    use_mixup, use_cutmix = mixup_alpha > 0, cutmix_alpha > 0
    if not (use_mixup or use_cutmix):
        return x, y, 1.0
    perm = torch.randperm(len(y), device=x.device)
    if use_cutmix and (not use_mixup or rng.random() < 0.5):
        target_lam = float(rng.beta(cutmix_alpha, cutmix_alpha))
        box = (slice(None), slice(None), *_cut_box(x.shape[2:], target_lam, rng))
        x = x.clone()
        x[box] = x[box][perm]
        # The box may be clipped at the border: weight labels by the area actually pasted.
        lam = 1.0 - x[box][0, 0].numel() / math.prod(x.shape[2:])
    else:
        lam = float(rng.beta(mixup_alpha, mixup_alpha))
        x = torch.lerp(x[perm], x, lam)  # lam * x + (1 - lam) * x[perm]
    return x, y[perm], lam


def _cut_box(spatial: torch.Size, lam: float, rng: np.random.Generator) -> tuple[slice, ...]:
    """A random box covering about ``1 - lam`` of the spatial extent (any dimensionality)."""
    ratio = (1.0 - lam) ** (1.0 / len(spatial))
    box = []
    for size in spatial:
        cut = round(size * ratio)
        centre = int(rng.integers(size))
        lo = min(max(centre - cut // 2, 0), size)
        box.append(slice(lo, min(lo + cut, size)))
    return tuple(box)
