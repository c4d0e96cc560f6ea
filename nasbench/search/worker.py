"""The trial function Ray Tune runs on a worker: build, train, report every epoch.

It never raises for a trial's own failure: divergence, out-of-memory or any exception is
reported as a result carrying ``failed`` (reason) and ``traceback``, so the driver records it
and the search goes on.
"""

from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch
from ray import tune

from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import Split
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture
from nasbench.train.module import DivergenceError
from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.run import augment_from, train_network


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of one run shares (sent once through Ray's object store)."""

    recipe: Recipe
    fidelity: Fidelity
    evaluate_test: bool
    device: str  # "cpu" or "cuda"
    threads: int


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, DivergenceError):
        return f"diverged: {exc}"
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return f"out of memory: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def short_traceback(exc: BaseException, limit: int = 4000) -> str:
    tb = "".join(traceback.format_exception(exc))
    return tb[-limit:]


def run_trial(config: dict[str, Any], dataset: ArrayDataset, split: Split, settings: TrialSettings) -> None:
    """Ray Tune function trainable for one architecture at one fidelity."""
    torch.set_num_threads(max(1, settings.threads))
    host = socket.gethostname()
    t0 = time.perf_counter()
    epoch = 0

    def report(metrics: dict[str, Any]) -> None:
        nonlocal epoch
        epoch = int(metrics.get("epoch", epoch))
        tune.report({**metrics, "worker": host, "elapsed_s": time.perf_counter() - t0})

    try:
        arch = Architecture.from_json(config["arch"])
        torch.manual_seed(config["seed"])
        model = build_network(arch, dataset.in_channels, dataset.num_classes, dataset.ndim)
        fid = settings.fidelity
        dm = TensorDataModule(dataset, split, batch_size=settings.recipe.batch_size,
                              train_fraction=fid.train_fraction, resolution=fid.resolution or arch.resolution,
                              augment=augment_from(settings.recipe), seed=config["seed"])
        result = train_network(model, dm, settings.recipe, fid.epochs, seed=config["seed"], on_epoch=report,
                               evaluate_test=settings.evaluate_test, device=settings.device)
        if settings.evaluate_test:
            report({"epoch": epoch, "val_acc": result.val_acc, "val_loss": result.val_loss,
                    "test_acc": result.test_acc, "test_loss": result.test_loss, "final_report": True})
    except Exception as exc:  # noqa: BLE001 — a trial's failure is data, not a crash of the search
        report({"epoch": epoch, "failed": failure_reason(exc), "traceback": short_traceback(exc)})
