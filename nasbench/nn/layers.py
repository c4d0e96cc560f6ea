"""Layer factories keyed by name and convolution dimensionality (1, 2 or 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_BATCHNORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_GAP = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
_ACT = {
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "gelu": nn.GELU,
    "hswish": nn.Hardswish,
    "hsigmoid": nn.Hardsigmoid,
    "sigmoid": nn.Sigmoid,
    "relu6": nn.ReLU6,
    "identity": nn.Identity,
}


def _check_ndim(ndim: int) -> None:
    if ndim not in _CONV:
        raise ValueError(f"convolution dimensionality must be 1, 2 or 3, got {ndim}")


def conv(
    ndim: int,
    in_ch: int,
    out_ch: int,
    kernel: int = 3,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = False,
    padding: int | None = None,
) -> nn.Module:
    """A convolution with 'same' padding for odd kernels (``padding`` overrides)."""
    _check_ndim(ndim)
    pad = dilation * (kernel - 1) // 2 if padding is None else padding
    return _CONV[ndim](in_ch, out_ch, kernel, stride=stride, padding=pad, dilation=dilation, groups=groups, bias=bias)


def norm(name: str, ndim: int, channels: int) -> nn.Module:
    """``batch`` or ``group`` normalisation (GroupNorm: up to 32 groups of at least 2 channels)."""
    _check_ndim(ndim)
    if name == "batch":
        return _BATCHNORM[ndim](channels)
    if name == "group":
        # One channel per group would normalise a single value on a 1-position feature map:
        # a constant output, and an error from torch at batch 1.
        groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0 and (channels // g >= 2 or g == 1))
        return nn.GroupNorm(groups, channels)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {name!r}; choose batch, group or none")


def act(name: str, inplace: bool = True) -> nn.Module:
    if name not in _ACT:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(sorted(_ACT))}")
    cls = _ACT[name]
    if cls in (nn.ReLU, nn.SiLU, nn.Hardswish, nn.ReLU6, nn.Hardsigmoid):
        return cls(inplace=inplace)
    return cls()


def _pool(
    kinds: Mapping[int, type[nn.Module]], ndim: int, kernel: int, stride: int | None, padding: int, ceil_mode: bool
) -> nn.Module:
    """A pooling layer of ``kinds[ndim]``; the stride defaults to the kernel size."""
    _check_ndim(ndim)
    return kinds[ndim](kernel, stride=stride or kernel, padding=padding, ceil_mode=ceil_mode)


def max_pool(
    ndim: int, kernel: int = 2, stride: int | None = None, padding: int = 0, ceil_mode: bool = False
) -> nn.Module:
    return _pool(_MAXPOOL, ndim, kernel, stride, padding, ceil_mode)


def avg_pool(
    ndim: int, kernel: int = 2, stride: int | None = None, padding: int = 0, ceil_mode: bool = False
) -> nn.Module:
    return _pool(_AVGPOOL, ndim, kernel, stride, padding, ceil_mode)


def global_pool(ndim: int) -> nn.Module:
    _check_ndim(ndim)
    return _GAP[ndim](1)


class ConvNormAct(nn.Sequential):
    """conv -> norm -> activation, the unit every block is made of. ``conv_args`` are ``conv``'s
    (kernel, stride, dilation, groups, by position or name)."""

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        *conv_args: Any,
        norm_name: str = "batch",
        act_name: str | None = "relu",
        **conv_kwargs: Any,
    ) -> None:
        super().__init__(
            conv(ndim, in_ch, out_ch, *conv_args, **conv_kwargs),
            norm(norm_name, ndim, out_ch),
            act(act_name) if act_name else nn.Identity(),
        )
