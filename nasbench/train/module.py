"""One LightningModule for classification: wraps the model it is given, trains it by a Recipe."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.train.recipe import Recipe


class DivergenceError(RuntimeError):
    """Training loss became NaN or infinite."""


class ClassificationModule(pl.LightningModule):
    """Cross-entropy training with optional label smoothing, mixup/cutmix, warm-up + cosine LR.

    Per-step values are accumulated on the device and read once per epoch: no per-step logging
    or host synchronisation on the hot path.
    """

    def __init__(self, model: nn.Module, recipe: Recipe, epochs: int, steps_per_epoch: int,
                 seed: int = 0, on_epoch: Callable[[dict[str, float]], None] | None = None) -> None:
        super().__init__()
        self.model = model
        self.on_epoch = on_epoch  # receives each epoch's metrics (e.g. to report them to Ray Tune)
        self.history: list[dict[str, float]] = []
        self._t_epoch = self._t_val = 0.0
        self.recipe, self.epochs, self.steps_per_epoch = recipe, epochs, steps_per_epoch
        self.rng = np.random.default_rng(seed)
        self._train_loss_sum: torch.Tensor | None = None
        self._train_count = 0
        self._eval: dict[str, list[torch.Tensor]] = {}
        self.epoch_metrics: dict[str, float] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    # --- training ------------------------------------------------------------------------
    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        x, y_a, y_b, lam = self._mix(x, y)
        logits = self.model(x)
        ls = self.recipe.label_smoothing
        loss = lam * F.cross_entropy(logits, y_a, label_smoothing=ls)
        if lam < 1.0:
            loss = loss + (1 - lam) * F.cross_entropy(logits, y_b, label_smoothing=ls)
        detached = loss.detach() * len(y)
        self._train_loss_sum = detached if self._train_loss_sum is None else self._train_loss_sum + detached
        self._train_count += len(y)
        return loss

    def _mix(self, x: torch.Tensor, y: torch.Tensor):
        r = self.recipe
        use_mixup, use_cutmix = r.mixup_alpha > 0, r.cutmix_alpha > 0
        if not (use_mixup or use_cutmix):
            return x, y, y, 1.0
        perm = torch.randperm(len(y), device=x.device)
        if use_cutmix and (not use_mixup or self.rng.random() < 0.5):
            lam = float(self.rng.beta(r.cutmix_alpha, r.cutmix_alpha))
            x = x.clone()
            box = _cut_box(x.shape[2:], lam, self.rng)
            x[(slice(None), slice(None), *box)] = x[perm][(slice(None), slice(None), *box)]
            area = math.prod(s.stop - s.start for s in box) / math.prod(x.shape[2:])
            lam = 1.0 - area
        else:
            lam = float(self.rng.beta(r.mixup_alpha, r.mixup_alpha))
            x = lam * x + (1 - lam) * x[perm]
        return x, y, y[perm], lam

    def on_train_epoch_start(self) -> None:
        self._train_loss_sum, self._train_count = None, 0
        self._t_epoch = self._t_val = time.perf_counter()

    def on_validation_epoch_start(self) -> None:
        if self.trainer.state.fn == "fit":
            self._t_val = time.perf_counter()

    def on_train_epoch_end(self) -> None:
        # Lightning runs validation before this hook, so the epoch's figures are complete here.
        if self._train_loss_sum is None:
            return
        loss = float(self._train_loss_sum) / max(1, self._train_count)
        if not math.isfinite(loss):
            raise DivergenceError(f"training loss became {loss} in epoch {self.current_epoch + 1}")
        now = time.perf_counter()
        metrics = {
            "epoch": self.current_epoch + 1,
            "train_loss": loss,
            "val_loss": self.epoch_metrics.get("val_loss", float("nan")),
            "val_acc": self.epoch_metrics.get("val_acc", float("nan")),
            "epoch_time_s": now - self._t_epoch,
            "train_samples_per_s": self._train_count / max(self._t_val - self._t_epoch, 1e-9),
        }
        self.history.append(metrics)
        if self.on_epoch is not None:
            self.on_epoch(metrics)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # Cheap divergence guard every 50 steps (one host sync), so a NaN run stops early.
        if self.global_step % 50 == 0 and self._train_loss_sum is not None:
            if not torch.isfinite(self._train_loss_sum):
                raise DivergenceError(f"training loss became non-finite at step {self.global_step}")

    # --- evaluation (one shared step for validation and test) ----------------------------
    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        x, y = batch
        logits = self.model(x)
        loss = F.cross_entropy(logits, y, reduction="sum")
        correct = (logits.argmax(1) == y).sum()
        acc = self._eval.setdefault(stage, [torch.zeros((), device=x.device)] * 3)
        self._eval[stage] = [acc[0] + loss.detach(), acc[1] + correct, acc[2] + len(y)]

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _close_eval(self, stage: str) -> None:
        loss, correct, n = (float(t) for t in self._eval.pop(stage))
        self.epoch_metrics[f"{stage}_loss"] = loss / max(n, 1)
        self.epoch_metrics[f"{stage}_acc"] = correct / max(n, 1)

    def on_validation_epoch_end(self) -> None:
        if "val" in self._eval:
            self._close_eval("val")

    def on_test_epoch_end(self) -> None:
        self._close_eval("test")

    # --- optimisation --------------------------------------------------------------------
    def configure_optimizers(self):
        r = self.recipe
        decay, no_decay = [], []
        for p in self.model.parameters():
            (no_decay if p.ndim <= 1 else decay).append(p)  # no decay on norms and biases
        groups = [{"params": decay, "weight_decay": r.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        if r.optimizer == "sgd":
            opt = torch.optim.SGD(groups, lr=r.lr, momentum=r.momentum, nesterov=True)
        else:
            opt = torch.optim.AdamW(groups, lr=r.lr)
        total = max(1, self.epochs * self.steps_per_epoch)
        warmup = min(total - 1, int(r.warmup_epochs * self.steps_per_epoch))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _cut_box(spatial: torch.Size, lam: float, rng: np.random.Generator) -> tuple[slice, ...]:
    """A random box covering about ``1 - lam`` of the spatial extent (any dimensionality)."""
    ratio = (1.0 - lam) ** (1.0 / len(spatial))
    box = []
    for size in spatial:
        cut = int(size * ratio)
        centre = int(rng.integers(size))
        lo, hi = max(centre - cut // 2, 0), min(centre + cut // 2, size)
        box.append(slice(lo, hi))
    return tuple(box)
