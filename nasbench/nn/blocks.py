"""The building blocks shared by searched networks and zoo networks, for 1D, 2D and 3D.

Every block takes ``(ndim, in_ch, out_ch, stride=..., kernel=..., dilation=..., act=..., norm=...)``
plus its own options, and decides its own skip connection.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import nn

from nasbench.core.registry import Registry
from nasbench.nn.layers import ConvNormAct, act, avg_pool, conv, global_pool, norm


class SqueezeExcite(nn.Module):
    """Channel attention: global pool, reduce, activate, expand, gate (Hu et al., 2018)."""

    def __init__(
        self, ndim: int, channels: int, rd_channels: int, act_name: str = "relu", gate: str = "sigmoid"
    ) -> None:
        super().__init__()
        self.pool = global_pool(ndim)
        self.reduce = conv(ndim, channels, rd_channels, 1, bias=True)
        self.act = act(act_name)
        self.expand = conv(ndim, rd_channels, channels, 1, bias=True)
        self.gate = act(gate, inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


def se_module(
    ndim: int, channels: int, ratio: float | None, base_channels: int | None = None, act_name: str = "relu"
) -> nn.Module:
    """An SE module with ``max(1, round(base * ratio))`` reduced channels, or Identity."""
    if not ratio:
        return nn.Identity()
    rd = max(1, round((base_channels or channels) * ratio))
    return SqueezeExcite(ndim, channels, rd, act_name)


def shortcut(ndim: int, in_ch: int, out_ch: int, stride: int, norm_name: str) -> nn.Module:
    """Identity when shapes match, else a strided 1x1 projection (ResNet option B)."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(conv(ndim, in_ch, out_ch, 1, stride=stride), norm(norm_name, ndim, out_ch))


class PlainBlock(nn.Module):
    """conv-norm-act, optionally followed by SE (the ``se`` block type)."""

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str = "relu",
        norm_name: str = "batch",
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.conv = ConvNormAct(ndim, in_ch, out_ch, kernel, stride, dilation, norm_name=norm_name, act_name=act_name)
        self.se = se_module(ndim, out_ch, se_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(self.conv(x))


class _Residual(nn.Module, ABC):
    """What ResNet's blocks share after their convs (``_body``): SE on the result, plus the identity
    or projected shortcut, then the activation."""

    def _add_skip(
        self, ndim: int, in_ch: int, out_ch: int, stride: int, act_name: str, norm_name: str, se_ratio: float | None
    ) -> None:
        self.se = se_module(ndim, out_ch, se_ratio)
        self.shortcut = shortcut(ndim, in_ch, out_ch, stride, norm_name)
        self.act = act(act_name)

    @abstractmethod
    def _body(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch (before squeeze-and-excitation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.se(self._body(x)) + self.shortcut(x))


class BasicBlock(_Residual):
    """ResNet basic block: two kxk convs, SE optional, identity or projected skip."""

    expansion = 1

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str = "relu",
        norm_name: str = "batch",
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(ndim, in_ch, out_ch, kernel, stride, dilation, norm_name=norm_name, act_name=act_name)
        self.conv2 = ConvNormAct(ndim, out_ch, out_ch, kernel, 1, dilation, norm_name=norm_name, act_name=None)
        self._add_skip(ndim, in_ch, out_ch, stride, act_name, norm_name, se_ratio)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class Bottleneck(_Residual):
    """ResNet bottleneck: 1x1 reduce to out/4, kxk (stride here, as in torchvision's v1.5), 1x1 expand.

    ``groups``/``base_width`` give ResNeXt; ``se_ratio`` gives SE-ResNet.
    """

    expansion = 4

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str = "relu",
        norm_name: str = "batch",
        se_ratio: float | None = None,
        groups: int = 1,
        mid_ch: int | None = None,
    ) -> None:
        super().__init__()
        mid = mid_ch or max(1, out_ch // self.expansion)
        self.conv1 = ConvNormAct(ndim, in_ch, mid, 1, norm_name=norm_name, act_name=act_name)
        self.conv2 = ConvNormAct(
            ndim, mid, mid, kernel, stride, dilation, groups=groups, norm_name=norm_name, act_name=act_name
        )
        self.conv3 = ConvNormAct(ndim, mid, out_ch, 1, norm_name=norm_name, act_name=None)
        self._add_skip(ndim, in_ch, out_ch, stride, act_name, norm_name, se_ratio)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


class InvertedResidual(nn.Module):
    """MobileNetV2 / EfficientNet MBConv: 1x1 expand, depthwise kxk, SE, linear 1x1 project.

    The skip is used when stride is 1 and channels match. ``se_ratio`` is taken of the block's
    input channels (EfficientNet's convention); ``se_act``/``se_gate`` give MobileNetV3's variant.
    """

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str = "relu6",
        norm_name: str = "batch",
        expansion: float = 6,
        se_ratio: float | None = None,
        hidden_ch: int | None = None,
        se_channels: int | None = None,
        se_act: str | None = None,
        se_gate: str = "sigmoid",
    ) -> None:
        super().__init__()
        hidden = hidden_ch or round(in_ch * expansion)
        self.expand = (
            ConvNormAct(ndim, in_ch, hidden, 1, norm_name=norm_name, act_name=act_name)
            if hidden != in_ch
            else nn.Identity()
        )
        self.depthwise = ConvNormAct(
            ndim, hidden, hidden, kernel, stride, dilation, groups=hidden, norm_name=norm_name, act_name=act_name
        )
        self.se: nn.Module
        if se_channels:
            self.se = SqueezeExcite(ndim, hidden, se_channels, se_act or act_name, se_gate)
        elif se_ratio:
            self.se = SqueezeExcite(ndim, hidden, max(1, int(in_ch * se_ratio)), se_act or act_name, se_gate)
        else:
            self.se = nn.Identity()
        self.project = ConvNormAct(ndim, hidden, out_ch, 1, norm_name=norm_name, act_name=None)
        self.use_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.use_skip else y


class DenseLayer(nn.Module):
    """DenseNet-BC layer: norm-act-1x1 (bn_size*growth) -> norm-act-kxk (growth); output concatenated."""

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        growth: int,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str = "relu",
        norm_name: str = "batch",
        bn_size: int = 4,
    ) -> None:
        super().__init__()
        mid = bn_size * growth
        self.layers = nn.Sequential(
            norm(norm_name, ndim, in_ch),
            act(act_name),
            conv(ndim, in_ch, mid, 1),
            norm(norm_name, ndim, mid),
            act(act_name),
            conv(ndim, mid, growth, kernel, dilation=dilation),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.layers(x)], 1)


class Transition(nn.Sequential):
    """DenseNet transition: norm-act-1x1 conv to ``out_ch``, then optional 2x average pool."""

    def __init__(
        self, ndim: int, in_ch: int, out_ch: int, act_name: str = "relu", norm_name: str = "batch", pool: bool = True
    ) -> None:
        super().__init__(
            norm(norm_name, ndim, in_ch),
            act(act_name),
            conv(ndim, in_ch, out_ch, 1),
            avg_pool(ndim, 2) if pool else nn.Identity(),
        )


class DenseStage(nn.Module):
    """``depth`` dense layers of growth ``growth``, then a 1x1 transition to ``out_ch``.

    Dense stages downsample by average pooling at their start (DenseNet's transitions pool).
    """

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        depth: int,
        growth: int,
        stride: int = 1,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str = "relu",
        norm_name: str = "batch",
    ) -> None:
        super().__init__()
        self.pool = avg_pool(ndim, 2) if stride > 1 else nn.Identity()
        layers, ch = [], in_ch
        for _ in range(depth):
            layers.append(DenseLayer(ndim, ch, growth, kernel, dilation, act_name, norm_name))
            ch += growth
        self.layers = nn.Sequential(*layers)
        self.transition = Transition(ndim, ch, out_ch, act_name, norm_name, pool=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transition(self.layers(self.pool(x)))


BlockFactory = Callable[..., nn.Module]
BLOCKS: Registry[BlockFactory] = Registry("block type")


def register_block(name: str, factory: BlockFactory) -> None:
    """Add a block type; a taken name raises ValueError."""
    BLOCKS.register(name, factory)


def get_block(name: str) -> BlockFactory:
    """The block type ``name``; an unknown name raises UnknownName listing the valid ones."""
    return BLOCKS.get(name)


register_block("plain", PlainBlock)
register_block("se", PlainBlock)
register_block("residual", BasicBlock)
register_block("bottleneck", Bottleneck)
register_block("inverted", InvertedResidual)
