"""Helpers the measures share."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasbench.errors import NasbenchError


def check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """One sample's shape, ``(channels, *spatial)``, as a tuple; refused if it cannot be one."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) < 2 or any(s < 1 for s in shape):
        raise NasbenchError(f"input_shape must be (channels, *spatial) with positive sizes, got {tuple(input_shape)}")
    return shape


def float_dtype(model: nn.Module) -> torch.dtype:
    """The dtype inputs to ``model`` should have: its first floating parameter's."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
