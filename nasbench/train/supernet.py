"""Training a supernet through the study's Lightning trainer and recipe, and scoring its paths.

Training (single-path one-shot, Guo et al. 2020): each step trains one path drawn uniformly from
the space's feasible architectures; with the sandwich rule (Yu & Huang, BigNAS/US-Nets) it
trains the largest, the smallest and two random paths on the same batch and averages their
losses. The supernet is checkpointed after every epoch through a ``CheckpointStore`` (the search
keeps it in the results database), and training resumes from the last one.

Scoring (``SupernetEvaluator``): a path inherits its weights, recalibrates its BatchNorm
statistics on a few training batches, and is validated. Nothing is trained: seconds per
candidate instead of minutes.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Unpack

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from nasbench.core.enums import EvaluatorKind
from nasbench.data.module import TensorDataModule
from nasbench.data.spec import DataShape, Task
from nasbench.measure.counts import count_figures
from nasbench.nn.supernet import Supernet, calibrate_bn, extract_network
from nasbench.space.architecture import Architecture
from nasbench.space.sample import RandomTrial, infeasibility, sample_architecture
from nasbench.space.spec import SpaceSpec
from nasbench.train.evaluate import Candidate, DeviceEvaluator, EvalOptions, Evaluation, Scores
from nasbench.train.metrics import EpochMetrics
from nasbench.train.module import Batch, ClassificationModule
from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.run import augment_from, make_trainer, pick_device, quiet_lightning

MAX_DRAWS = 1000  # samples tried for one feasible path before the space is called unfit


class _ExtremeTrial(RandomTrial):
    """Every numeric choice at its largest (or smallest); other choices drawn at random."""

    def __init__(self, rng: np.random.Generator, largest: bool) -> None:
        super().__init__(rng)
        self.largest = largest

    def pick(self, name: str, n: int) -> int:
        return n - 1 if self.largest else 0  # numeric ranges (suggest_int, suggest_float) ascend

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices):
            return self._answer(name, max(choices) if self.largest else min(choices))
        return self._answer(name, choices[int(self.rng.integers(len(choices)))])


class PathSampler:
    """Draws the paths each training step trains: architectures of the space that can be trained on
    the data's input size and keep within ``limits`` (the study's params/FLOPs constraints: a
    supernet trains only paths the search may choose)."""

    def __init__(
        self,
        space: SpaceSpec,
        shape: DataShape,
        seed: int = 0,
        sandwich: bool = False,
        limits: Mapping[str, float] | None = None,
    ) -> None:
        self.space, self.shape, self.sandwich = space, shape, sandwich
        self.spatial = shape.spatial(None)
        self.limits = {k: v for k, v in (limits or {}).items() if k in ("params", "flops")}
        self.rng = np.random.default_rng(seed)

    def admissible(self, arch: Architecture) -> bool:
        if infeasibility(arch, self.spatial) is not None:
            return False
        if not self.limits:
            return True
        params, flops = count_figures(arch, self.shape.in_channels, self.spatial, self.shape.num_classes)
        return all({"params": params, "flops": flops}[k] <= v for k, v in self.limits.items())

    def _feasible(self, trial: RandomTrial) -> Architecture | None:
        for _ in range(MAX_DRAWS):
            arch = sample_architecture(trial, self.space)
            if self.admissible(arch):
                return arch
        return None

    def uniform(self) -> Architecture:
        arch = self._feasible(RandomTrial(self.rng))
        if arch is None:
            raise ValueError(
                f"no architecture of space {self.space.name} in {MAX_DRAWS} samples is feasible within {self.limits}"
            )
        return arch

    def extreme(self, largest: bool) -> Architecture:
        """The largest (smallest) feasible path, its non-numeric choices drawn at random."""
        return self._feasible(_ExtremeTrial(self.rng, largest)) or self.uniform()

    def step(self) -> list[Architecture]:
        if not self.sandwich:
            return [self.uniform()]
        return [self.extreme(True), self.extreme(False), self.uniform(), self.uniform()]


class SupernetModule(ClassificationModule):
    """The study's ``ClassificationModule`` with a supernet for its model: each training step
    trains the paths the sampler draws; validation runs one fixed reference path (the largest)
    with BatchNorm on batch statistics, a cheap progress signal (search scores recalibrate)."""

    model: Supernet

    def __init__(self, supernet: Supernet, paths: PathSampler, *args: Any, **kwargs: Any) -> None:
        """``args``/``kwargs``: ``ClassificationModule``'s after the model (recipe, epochs, ...)."""
        super().__init__(supernet, *args, **kwargs)
        self.paths = paths
        self.reference = paths.extreme(largest=True)

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        x, y = batch
        losses = []
        for arch in self.paths.step():
            self.model.activate(arch)
            losses.append(self._loss(x, y))
        loss = torch.stack(losses).mean()
        self._check_divergence(loss)
        self._optimise(loss)

    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        self.model.activate(self.reference)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["nasbench_history"] = [m.to_dict() for m in self.history]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.history = [EpochMetrics.from_dict(d) for d in checkpoint.get("nasbench_history", [])]


class CheckpointStore(Protocol):
    """Where a supernet's checkpoint lives between sessions (the search: the results database)."""

    def load(self) -> bytes | None: ...

    def save(self, data: bytes, epoch: int) -> None: ...


@dataclass(frozen=True)
class SupernetSettings:
    """How a supernet is trained and its paths scored (the study's ``evaluator`` field)."""

    epochs: int
    sandwich: bool = False
    calibration_batches: int = 10
    train_fraction: float = 1.0
    few_shot: bool = False  # one sub-supernet per first-stage block type
    limits: dict[str, float] = field(default_factory=dict)  # params/FLOPs bounds of the paths trained


@dataclass
class SupernetRun:
    """A trained supernet's weights and its training curve (all epochs, over every session)."""

    weights: dict[str, torch.Tensor]
    history: list[EpochMetrics] = field(default_factory=list)
    resumed_from: int = 0  # epochs already done when this session started
    train_time_s: float = 0.0


def train_supernet(
    space: SpaceSpec,
    task: Task,
    recipe: Recipe,
    settings: SupernetSettings,
    seed: int = 0,
    device: str = "auto",
    store: CheckpointStore | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> SupernetRun:
    """Train (or finish training) the supernet of ``space`` on ``task`` for ``settings.epochs``.

    With a ``store``, each epoch's checkpoint (weights, optimizer, schedule, curve) is saved to it
    and a saved one is resumed: finished epochs are never trained again. ``should_stop`` is
    asked after every step (Ctrl-C): training ends there and the last epoch's checkpoint stands.
    """
    quiet_lightning()
    device = pick_device(device)
    shape = task.shape
    supernet = Supernet(space, shape.in_channels, shape.num_classes, shape.ndim, few_shot=settings.few_shot)
    pl.seed_everything(seed, workers=False, verbose=False)
    dm = TensorDataModule(
        task.dataset,
        task.split,
        batch_size=recipe.batch_size,
        train_fraction=settings.train_fraction,
        augment=augment_from(recipe),
        seed=seed,
    )
    dm.device = torch.device(device)
    dm.setup("fit")
    paths = PathSampler(space, shape, seed=seed, sandwich=settings.sandwich, limits=settings.limits)
    with tempfile.TemporaryDirectory(prefix="nasbench-supernet-") as tmp:
        ckpt = Path(tmp) / "supernet.ckpt"

        def saved(metrics: EpochMetrics) -> None:
            if store is not None:
                trainer.save_checkpoint(ckpt)
                store.save(ckpt.read_bytes(), metrics.epoch)
            if on_epoch is not None:
                on_epoch(metrics)

        module = SupernetModule(
            supernet, paths, recipe, settings.epochs, len(dm.train_dataloader()), seed=seed, on_epoch=saved
        )
        previous = store.load() if store is not None else None
        resume_from = None
        if previous is not None:
            ckpt.write_bytes(previous)
            resume_from = str(ckpt)
        trainer = make_trainer(device, settings.epochs, [_StopWhen(should_stop)])
        done = len(checkpoint_history(previous))
        t0 = time.perf_counter()
        if done >= settings.epochs and previous is not None:
            state = torch.load(ckpt, map_location="cpu", weights_only=False)
            module.load_state_dict(state["state_dict"])
            module.on_load_checkpoint(state)
        else:
            trainer.fit(module, datamodule=dm, ckpt_path=resume_from)
    return SupernetRun(
        weights={k: v.cpu() for k, v in supernet.state_weights().items()},
        history=module.history,
        resumed_from=done,
        train_time_s=time.perf_counter() - t0,
    )


def checkpoint_history(checkpoint: bytes | None) -> list[EpochMetrics]:
    """The training curve a supernet checkpoint holds, one record per finished epoch (none: [])."""
    if checkpoint is None:
        return []
    with tempfile.NamedTemporaryFile(suffix=".ckpt") as f:
        f.write(checkpoint)
        f.flush()
        state = torch.load(f.name, map_location="cpu", weights_only=False)
    return [EpochMetrics.from_dict(d) for d in state.get("nasbench_history", [])]


class _StopWhen(pl.Callback):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.should_stop():
            trainer.should_stop = True


# --- scoring paths -----------------------------------------------------------------------------
_DATA: dict[tuple[str, int], TensorDataModule] = {}  # per worker process: loaded once


def _data(task: Task, batch_size: int) -> TensorDataModule:
    key = (task.spec.model_dump_json(), batch_size)
    if key not in _DATA:
        dm = TensorDataModule(task.dataset, task.split, batch_size=batch_size)
        dm.setup("fit")
        _DATA[key] = dm
    return _DATA[key]


@dataclass(frozen=True, eq=False)
class SupernetEvaluator(DeviceEvaluator):
    """Scores an architecture by the supernet's shared weights: inherit, recalibrate BatchNorm on
    ``calibration_batches`` training batches (seeded), validate. ``val_acc`` of a shared-weight
    path, never a stand-alone accuracy: every ``Evaluation`` says ``kind: supernet``."""

    task: Task
    weights: dict[str, torch.Tensor]
    calibration_batches: int = 10
    batch_size: int = 128
    val_samples: int | None = None  # score on the first n validation samples (None: all)
    kind: EvaluatorKind = EvaluatorKind.SUPERNET

    def evaluate(
        self, candidate: Candidate, fidelity: Fidelity, seed: int, **options: Unpack[EvalOptions]
    ) -> Evaluation:
        from nasbench.train.threads import torch_threads

        if candidate.arch is None or options.get("test"):
            raise ValueError("a supernet scores architectures of its space on validation only")
        arch = candidate.arch
        t0 = time.perf_counter()
        with torch_threads(self.threads):
            dm = _data(self.task, self.batch_size)
            shape = self.task.shape
            net = extract_network(arch, self.weights, shape.in_channels, shape.num_classes, shape.ndim)
            latency_ms = self.started(net, dm.input_shape, options.get("listener"))
            score = score_path(net, dm, self.calibration_batches, seed, self.device, self.val_samples)
        elapsed = time.perf_counter() - t0
        return Evaluation(
            kind=self.kind,
            scores=Scores(*score),
            epochs=0,
            train_time_s=elapsed,
            latency_ms=latency_ms,
        )


def score_path(
    net: torch.nn.Module,
    dm: TensorDataModule,
    calibration_batches: int,
    seed: int,
    device: str = "cpu",
    val_samples: int | None = None,
) -> tuple[float, float]:
    """Validation accuracy and loss of ``net`` (on the first ``val_samples`` of the validation split,
    or all of it) after recalibrating its BatchNorm statistics on ``calibration_batches`` seeded
    training batches."""
    x, y = dm.tensors["train"]
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=gen)[: calibration_batches * dm.batch_size]
    net = net.to(device)
    calibrate_bn(net, (x[idx].to(device) for idx in order.split(dm.batch_size)))
    correct, loss, n = 0, 0.0, 0
    xv, yv = dm.tensors["val"]
    if val_samples is not None:
        xv, yv = xv[:val_samples], yv[:val_samples]
    with torch.no_grad():
        for xb, yb in zip(xv.split(dm.eval_batch_size), yv.split(dm.eval_batch_size), strict=True):
            logits = net(xb.to(device))
            yb = yb.to(device)
            loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
            n += len(yb)
    acc, mean_loss = correct / max(n, 1), loss / max(n, 1)
    return acc, (mean_loss if math.isfinite(mean_loss) else math.nan)
