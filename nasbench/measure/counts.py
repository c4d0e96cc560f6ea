"""Exact parameter counts and FLOPs (torch's own FlopCounterMode, on the meta device), of a built
network or of an architecture before it is built."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture


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


# Layers that keep their input's shape and that FlopCounterMode counts as 0 FLOPs (it counts
# matrix products and convolutions only).
_ZERO_FLOP_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.GroupNorm,
    nn.ReLU,
    nn.Hardtanh,
    nn.SiLU,
    nn.GELU,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Dropout,
)


def count_figures(arch: Architecture, channels: int, spatial: tuple[int, ...], num_classes: int) -> tuple[int, int]:
    """Exact params and FLOPs of one sample of size ``spatial``, counted without allocating weights."""
    ndim = len(spatial)
    with torch.device("meta"):
        model = build_network(arch, channels, num_classes, ndim)
    params = count_params(model)
    # On the meta device norms and most activations run as Python reference kernels (1-5 ms
    # each, most of the cost). This model is built only to be counted: with those layers
    # swapped for identities it gives FlopCounterMode the same convolutions and products at the
    # same shapes, so the same count. The tests check it against count_flops of the real network.
    _strip_zero_flop_layers(model)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.empty((1, channels, *spatial), device="meta"))
    return params, int(counter.get_total_flops())


def _strip_zero_flop_layers(model: nn.Module) -> None:
    identity = nn.Identity()  # one shared instance: building a module per layer costs as much
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, _ZERO_FLOP_LAYERS):
                setattr(parent, name, identity)
