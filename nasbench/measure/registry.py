"""Named measures, and ``measure``: every figure the leaderboard reports for one network."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from nasbench.core.registry import Registry
from nasbench.measure.counts import count_flops, count_params
from nasbench.measure.receptive_field import receptive_field
from nasbench.measure.runtime import latency as measure_latency
from nasbench.measure.runtime import peak_memory, resolve_device

# A measure maps a network and one sample's input shape (channels, *spatial) to a number.
Measure = Callable[[nn.Module, Sequence[int]], float]
MEASURES: Registry[Measure] = Registry("measure")


def register_measure(name: str, fn: Measure) -> None:
    """Add a measure under ``name``; a taken name raises ValueError."""
    MEASURES.register(name, fn)


def get_measure(name: str) -> Measure:
    """The measure ``name``; an unknown name raises UnknownName listing the valid ones."""
    return MEASURES.get(name)


def params(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Number of parameters (the input shape does not matter)."""
    return count_params(model)


def flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one sample's forward pass (a multiply-add is 2)."""
    return count_flops(model, (1, *input_shape))


register_measure("params", params)
register_measure("flops", flops)
register_measure("receptive_field", receptive_field)
register_measure("peak_memory", peak_memory)


@dataclass(frozen=True)
class Measurements:
    """One network's figures. Runtime figures are None when not measured.

    ``flops`` and ``peak_memory_bytes`` are for one sample; latencies are medians, in
    milliseconds per batch of 1 and of 32, with ``threads`` torch threads on ``device``.
    """

    params: int
    flops: int
    receptive_field: int
    latency_b1_ms: float | None = None
    latency_b32_ms: float | None = None
    threads: int | None = None
    peak_memory_bytes: int | None = None
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    latency: bool = True,
    memory: bool = True,
    device: str | torch.device | None = None,
) -> Measurements:
    """Params, FLOPs and receptive field, plus latency and peak memory unless turned off.

    ``input_shape`` is one sample's shape, ``(channels, *spatial)``.
    """
    shape = tuple(input_shape)
    timed = measure_latency(model, shape, (1, 32), device=device) if latency else None
    peak = peak_memory(model, shape, device=device) if memory else None
    return Measurements(
        params=params(model, shape),
        flops=flops(model, shape),
        receptive_field=receptive_field(model, shape),
        latency_b1_ms=timed.median_ms[1] if timed else None,
        latency_b32_ms=timed.median_ms[32] if timed else None,
        threads=timed.threads if timed else None,
        peak_memory_bytes=peak,
        device=str(resolve_device(model, device)) if latency or memory else None,
    )
