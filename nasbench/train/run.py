"""Train one network on one data module with a Lightning Trainer, quietly and fast."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import pytorch_lightning as pl
import torch
from torch import nn

from nasbench.core.numbers import finite
from nasbench.data.module import Augment, TensorDataModule
from nasbench.train.curves import STOPPED, TrialRun, log_epoch, open_logger
from nasbench.train.metrics import EpochMetrics
from nasbench.train.module import ClassificationModule
from nasbench.train.recipe import Recipe


@dataclass
class TrainResult:
    """What one training run produced: its curve, and test figures when they were asked for."""

    train_time_s: float
    history: list[EpochMetrics] = field(default_factory=list)
    test_acc: float | None = None
    test_loss: float | None = None

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def val_acc(self) -> float | None:
        """The last epoch's (None: no epoch ran)."""
        return self.history[-1].val_acc if self.history else None

    @property
    def val_loss(self) -> float | None:
        return self.history[-1].val_loss if self.history else None


def pick_device(prefer: str = "auto") -> str:
    """``cuda`` when a GPU is present (for ``auto``), else ``cpu``; an explicit choice is checked."""
    if prefer == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(prefer)  # raises on a malformed name
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {prefer!r} was asked for, but torch sees no CUDA GPU")
    return str(device)


def accelerator_of(device: str) -> tuple[str, list[int] | int]:
    """Lightning's ``accelerator`` and ``devices`` for one torch device name."""
    d = torch.device(device)
    if d.type == "cuda":
        return "gpu", [d.index if d.index is not None else torch.cuda.current_device()]
    return "cpu", 1


def quiet_lightning() -> None:
    """Silence Lightning's banner lines and hint warnings inside trials."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="pytorch_lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def make_trainer(
    device: str, epochs: int, callbacks: list[pl.Callback] | None = None, validate: bool = True
) -> pl.Trainer:
    """The one Trainer configuration every training uses: quiet, no Lightning checkpoints or
    loggers of its own (curves go to the store and the study's logger), no sanity validation;
    no validation at all when ``validate`` is False (the validation split was trained on)."""
    accelerator, devices = accelerator_of(device)
    return pl.Trainer(
        accelerator=accelerator,
        devices=devices,
        max_epochs=epochs,
        limit_val_batches=None if validate else 0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=False,
        use_distributed_sampler=False,
        callbacks=callbacks,
    )


def memory_format_for(model: nn.Module, channels_last: bool | None = None) -> torch.memory_format:
    """How a training lays out a network's weights and batches.

    ``channels_last`` (NHWC) for networks with 2D convolutions, unless ``channels_last`` is
    False: oneDNN's convolutions, above all the depthwise ones of inverted blocks, run their
    backward pass about 3x faster in it on the CPU (a trial 1.35x more images per CPU-second,
    benchmarks/RESULTS.md, training speed per image), and GPUs favour it too. 1D and 3D networks
    keep the default layout (not measured to pay).
    """
    if channels_last is None:
        channels_last = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return torch.channels_last if channels_last else torch.contiguous_format


def augment_from(recipe: Recipe) -> Augment | None:
    if recipe.crop_padding == 0 and not recipe.flip:
        return None
    return Augment(crop_padding=recipe.crop_padding, flip=recipe.flip)


def train_network(
    model: nn.Module,
    dm: TensorDataModule,
    recipe: Recipe,
    epochs: int,
    seed: int = 0,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    evaluate_test: bool = False,
    device: str = "auto",
    run: TrialRun | None = None,
    channels_last: bool | None = None,
    time_limit: float | None = None,
) -> TrainResult:
    """Train ``model`` for ``epochs``; validate every epoch (unless the data module trains on the
    validation split); test only when asked (final runs).

    ``run``: also log the curves to the study's logger, as that run (see ``nasbench.train.curves``).
    ``channels_last``: the memory layout (None: chosen by ``memory_format_for``).
    ``time_limit``: seconds the training (and test) may take: as many of ``epochs`` as fit at the
    pace measured at the start, at least one (``nasbench.train.pace``).
    """
    quiet_lightning()
    layout = memory_format_for(model, channels_last)
    if run is None:
        return _train(model, dm, recipe, epochs, seed, on_epoch, evaluate_test, device, layout, time_limit)
    logger = open_logger(run)
    status, reached = "failed", 0

    def logged(metrics: EpochMetrics) -> None:
        nonlocal reached
        log_epoch(logger, metrics)
        reached = metrics.epoch
        if on_epoch is not None:
            on_epoch(metrics)

    try:
        result = _train(model, dm, recipe, epochs, seed, logged, evaluate_test, device, layout, time_limit)
        if result.test_acc is not None and result.test_loss is not None:
            logger.log_metrics({"test_loss": result.test_loss, "test_acc": result.test_acc}, step=result.epochs)
        status = "success"
        return result
    except SystemExit:
        # How Ray Tune ends a trial's thread from outside, in the report of an epoch: its scheduler
        # pruned the trial, or stopped it at its last epoch.
        status = "success" if reached >= epochs else STOPPED
        raise
    finally:
        logger.finalize(status)


def _train(
    model: nn.Module,
    dm: TensorDataModule,
    recipe: Recipe,
    epochs: int,
    seed: int,
    on_epoch: Callable[[EpochMetrics], None] | None,
    evaluate_test: bool,
    device: str,
    layout: torch.memory_format,
    time_limit: float | None = None,
) -> TrainResult:
    device = pick_device(device)
    pl.seed_everything(seed, workers=False, verbose=False)
    dm.device = torch.device(device)
    dm.setup("fit")
    steps = len(dm.train_dataloader())
    # In place (the caller's model is the one trained); torch's stubs omit Module.to's memory_format.
    model = model.to(memory_format=layout)  # type: ignore[call-overload]
    if time_limit is not None:
        epochs = _epochs_in(time_limit, epochs, model, dm, recipe, layout, steps, evaluate_test)
    module = ClassificationModule(model, recipe, epochs, steps, seed=seed, on_epoch=on_epoch, memory_format=layout)
    trainer = make_trainer(device, epochs, validate=not dm.train_on_val)
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    train_time = time.perf_counter() - t0
    result = TrainResult(train_time_s=train_time, history=module.history)
    if evaluate_test:
        trainer.test(module, datamodule=dm, verbose=False)
        result.test_acc = finite(module.epoch_metrics["test_acc"])
        result.test_loss = finite(module.epoch_metrics["test_loss"])
    return result


def _epochs_in(
    seconds: float,
    epochs: int,
    model: nn.Module,
    dm: TensorDataModule,
    recipe: Recipe,
    layout: torch.memory_format,
    steps: int,
    evaluate_test: bool,
) -> int:
    """How many of ``epochs`` fit in ``seconds`` at the pace ``model`` trains on ``dm`` here."""
    from nasbench.train.pace import epochs_within, measure_pace

    pace = measure_pace(model, dm, recipe, dm.device, layout)
    val = len(dm.tensors["val"][1])
    test = len(dm.split.test) if evaluate_test else 0
    return epochs_within(seconds, epochs, pace, steps, val, test)
