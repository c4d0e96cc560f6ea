"""The trial function Ray Tune runs on a worker: build, measure latency, train, report every epoch.

It never raises for a trial's own failure: divergence, out-of-memory or any exception is
reported as a result carrying ``failed`` (reason) and ``traceback``, so the driver records it
and the search goes on. A network slower than the study's latency constraint is reported as
``infeasible`` before any training: latency is a property of the worker's hardware, so it is
measured there, not in the driver.
"""

from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch
from ray import tune
from torch import nn

from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import Split
from nasbench.measure.runtime import latency
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
    max_latency_ms: float | None = None  # the study's latency constraint, if any


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


def build_model(config: dict[str, Any], dataset: ArrayDataset) -> tuple[nn.Module, int | None]:
    """The trial's network (searched architecture or zoo model) and the resolution it asks for."""
    if "zoo" in config:
        from nasbench.zoo import create_model

        return create_model(config["zoo"], num_classes=dataset.num_classes, in_channels=dataset.in_channels,
                            small_input=True), None
    arch = Architecture.from_json(config["arch"])
    return build_network(arch, dataset.in_channels, dataset.num_classes, dataset.ndim), arch.resolution


def worker_name() -> str:
    """Host and Ray node: several nodes can share one host (and a host name)."""
    import ray

    node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    return f"{socket.gethostname()} ({node[:8]})" if node else socket.gethostname()


def run_trial(config: dict[str, Any], dataset: ArrayDataset, split: Split, settings: TrialSettings) -> None:
    """Ray Tune function trainable for one network at one fidelity."""
    torch.set_num_threads(max(1, settings.threads))
    worker = worker_name()
    t0 = time.perf_counter()
    epoch = 0

    def report(metrics: dict[str, Any]) -> None:
        nonlocal epoch
        epoch = int(metrics.get("epoch", epoch))
        tune.report({**metrics, "worker": worker, "elapsed_s": time.perf_counter() - t0})

    try:
        torch.manual_seed(config["seed"])
        model, arch_resolution = build_model(config, dataset)
        fid = settings.fidelity
        dm = TensorDataModule(dataset, split, batch_size=settings.recipe.batch_size,
                              train_fraction=fid.train_fraction, resolution=fid.resolution or arch_resolution,
                              augment=augment_from(settings.recipe), seed=config["seed"])
        latency_ms = latency(model, dm.input_shape, batch_sizes=(1,), device=settings.device).median_ms[1]
        limit = settings.max_latency_ms
        if limit is not None and latency_ms > limit:
            report({"epoch": 0, "latency_ms": latency_ms,
                    "infeasible": f"latency_ms {latency_ms:.3f} exceeds the constraint {limit:g}"})
            return

        def on_epoch(metrics: dict[str, Any]) -> None:
            report({**metrics, "latency_ms": latency_ms})

        result = train_network(model, dm, settings.recipe, fid.epochs, seed=config["seed"], on_epoch=on_epoch,
                               evaluate_test=settings.evaluate_test, device=settings.device)
        if settings.evaluate_test:
            report({"epoch": epoch, "val_acc": result.val_acc, "val_loss": result.val_loss,
                    "test_acc": result.test_acc, "test_loss": result.test_loss, "latency_ms": latency_ms,
                    "final_report": True})
    except Exception as exc:  # noqa: BLE001 — a trial's failure is data, not a crash of the search
        report({"epoch": epoch, "failed": failure_reason(exc), "traceback": short_traceback(exc)})
