"""Measured figures of zoo networks at their native configuration, beside the documented ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench.measure import count_flops, count_params, receptive_field
from nasbench.zoo.figures import documented_figures
from nasbench.zoo.registry import ZooInfo, create_model, model_info


@dataclass(frozen=True)
class ZooSummary:
    """What ``zoo show`` prints: FLOPs are for one sample at the native resolution."""

    info: ZooInfo
    params: int
    flops: int | None
    receptive_field: int | None
    documented: dict[str, Any] | None

    @property
    def native_input(self) -> tuple[int, int, int]:
        return native_input(self.info)


def native_input(info: ZooInfo) -> tuple[int, int, int]:
    """(channels, height, width) of one sample at the network's documented configuration."""
    return (info.in_channels, info.resolution, info.resolution)


def build_native(name: str) -> nn.Module:
    """Network ``name`` at its documented configuration, on the meta device (no memory, no init).

    Enough for counting parameters and FLOPs and for the receptive field; not for running.
    """
    info = model_info(name)
    with torch.device("meta"):
        return create_model(name, num_classes=info.num_classes, in_channels=info.in_channels)


def summarize(name: str, measure: bool = True) -> ZooSummary:
    """Parameters of ``name`` at its native configuration; with ``measure`` also FLOPs and
    receptive field at the native resolution, and the documented figures."""
    info = model_info(name)
    model = build_native(name)
    flops = rf = None
    if measure:
        shape = native_input(info)
        flops = count_flops(model, (1, *shape))
        rf = receptive_field(model, shape)
    return ZooSummary(info, count_params(model), flops, rf, documented_figures(name))
