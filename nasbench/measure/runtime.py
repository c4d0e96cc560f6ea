"""Measured at run time: inference latency and peak activation memory of one forward pass.

Both take one sample's ``input_shape``, ``(channels, *spatial)``, run the model in eval mode
under ``torch.inference_mode()`` and leave the caller's model as it was (its train/eval modes
are restored; a model on another device than the one asked for is measured as a copy).
"""

from __future__ import annotations

import copy
import statistics
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from nasbench.errors import NasbenchError
from nasbench.measure._common import check_input_shape, float_dtype


@dataclass(frozen=True)
class LatencyResult:
    """Latency per batch size: the median and every timed run, in milliseconds per batch."""

    median_ms: dict[int, float]
    samples_ms: dict[int, tuple[float, ...]]
    threads: int  # torch.get_num_threads() while measuring
    device: str


def resolve_device(model: nn.Module, device: str | torch.device | None = None) -> torch.device:
    """The device asked for, else the model's (its first parameter or buffer), else the CPU."""
    if device is None:
        first = next((t for t in (*model.parameters(), *model.buffers())), None)
        dev = first.device if first is not None else torch.device("cpu")
    else:
        dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


@contextmanager
def _inference(model: nn.Module, device: torch.device) -> Iterator[nn.Module]:
    """``model`` in eval mode on ``device`` (a copy if it lives elsewhere); modes restored after."""
    if resolve_device(model, None) != device:
        yield copy.deepcopy(model).to(device).eval()
        return
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes.items():
            m.train(training)


def _input(model: nn.Module, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    return torch.randn(shape, device=device, dtype=float_dtype(model))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # kernels run asynchronously: wait before reading the clock


def _timed_ms(model: nn.Module, x: torch.Tensor, warmup: int, repeats: int) -> tuple[float, ...]:
    for _ in range(warmup):
        model(x)
    samples = []
    for _ in range(repeats):
        _sync(x.device)
        start = time.perf_counter()
        model(x)
        _sync(x.device)
        samples.append((time.perf_counter() - start) * 1e3)
    return tuple(samples)


def latency(
    model: nn.Module,
    input_shape: Sequence[int],
    batch_sizes: Sequence[int] = (1, 32),
    warmup: int = 3,
    repeats: int = 10,
    device: str | torch.device | None = None,
) -> LatencyResult:
    """Median wall time of a forward pass per batch size, after ``warmup`` untimed passes.

    ``input_shape`` is ``(channels, *spatial)``; ``device`` defaults to the model's.
    """
    shape = check_input_shape(input_shape)
    if not batch_sizes or any(int(b) < 1 for b in batch_sizes):
        raise NasbenchError(f"batch_sizes must be positive integers, got {tuple(batch_sizes)}")
    if warmup < 0 or repeats < 1:
        raise NasbenchError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    dev = resolve_device(model, device)
    samples: dict[int, tuple[float, ...]] = {}
    with _inference(model, dev) as m, torch.inference_mode():
        for b in batch_sizes:
            samples[int(b)] = _timed_ms(m, _input(m, (int(b), *shape), dev), warmup, repeats)
    return LatencyResult(
        {b: statistics.median(s) for b, s in samples.items()}, samples, torch.get_num_threads(), str(dev)
    )


class _StorageTracker(TorchDispatchMode):
    """Live bytes of the tensor storages ops allocate, and their peak.

    Each new storage is counted once (views and in-place results share it) and uncounted when
    Python frees it. Storages in ``exclude`` (parameters, buffers, the input) are never counted.
    """

    def __init__(self, exclude: set[int]) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.counted = set(exclude)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._count(t.untyped_storage())
        return out

    def _count(self, storage: torch.UntypedStorage) -> None:
        key, size = storage.data_ptr(), storage.nbytes()
        if size == 0 or key in self.counted:
            return
        self.counted.add(key)
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, key, size).atexit = False

    def _free(self, key: int, size: int) -> None:
        self.counted.discard(key)
        self.live -= size


def _cpu_peak(model: nn.Module, x: torch.Tensor) -> int:
    exclude = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers(), x)}
    with _StorageTracker(exclude) as tracker:
        model(x)
    return tracker.peak


def _cuda_peak(model: nn.Module, x: torch.Tensor) -> int:
    torch.cuda.synchronize(x.device)
    torch.cuda.reset_peak_memory_stats(x.device)
    base = torch.cuda.memory_allocated(x.device)
    model(x)
    torch.cuda.synchronize(x.device)
    return torch.cuda.max_memory_allocated(x.device) - base


def peak_memory(
    model: nn.Module, input_shape: Sequence[int], device: str | torch.device | None = None, batch_size: int = 1
) -> int:
    """Peak bytes of activations live during one inference forward pass.

    Parameters, buffers and the input itself are excluded. On CUDA this is the caching
    allocator's peak above what was allocated before (so it includes kernel workspaces); elsewhere
    it is the peak of tensor storages the ops allocate, which leaves out scratch memory kernels
    keep to themselves (oneDNN's, for instance).
    """
    shape = check_input_shape(input_shape)
    if batch_size < 1:
        raise NasbenchError(f"batch_size must be positive, got {batch_size}")
    dev = resolve_device(model, device)
    with _inference(model, dev) as m, torch.inference_mode():
        x = _input(m, (batch_size, *shape), dev)
        return _cuda_peak(m, x) if dev.type == "cuda" else _cpu_peak(m, x)
