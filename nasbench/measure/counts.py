"""Exact parameter counts and FLOPs (torch's own FlopCounterMode, on the meta device)."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (every element of every parameter tensor)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass for an input of ``input_shape`` (batch included).

    FlopCounterMode counts a multiply-add as 2 FLOPs. The count runs on a meta-device copy, so
    it costs no real arithmetic and leaves ``model`` untouched.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    x = torch.empty(input_shape, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(x)
    return int(counter.get_total_flops())
