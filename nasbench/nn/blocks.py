"""The building blocks shared by searched networks and zoo networks, for 1D, 2D and 3D.

Every block takes ``(ndim, in_ch, out_ch, stride=..., kernel=..., dilation=..., act_name=...,
norm_name=...)`` plus its own options, and decides its own skip connection.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class BlockArgs:
    """What every block is given: dimensionality, channels in and out, stride, and what its units
    share (the kxk kernel and its dilation, activation and normalisation by name)."""

    ndim: int
    in_ch: int
    out_ch: int
    stride: int
    kernel: int
    dilation: int
    act_name: str
    norm_name: str

    def unit(
        self, in_ch: int, out_ch: int, stride: int = 1, groups: int = 1, pointwise: bool = False, act: bool = True
    ) -> ConvNormAct:
        """A conv-norm-act unit with the block's kxk kernel and dilation, or a 1x1 one (``pointwise``);
        ``act=False`` leaves the activation out (the linear last unit of a residual branch)."""
        kernel, dilation = (1, 1) if pointwise else (self.kernel, self.dilation)
        act_name = self.act_name if act else None
        return ConvNormAct(
            self.ndim, in_ch, out_ch, kernel, stride, dilation, groups, norm_name=self.norm_name, act_name=act_name
        )


class Block(nn.Module):
    """The one block interface: ``(ndim, in_ch, out_ch, stride, kernel, dilation, act_name,
    norm_name)`` plus the block type's own options, which its ``_build`` takes by keyword and turns
    into layers. ``act_name`` defaults to the type's ``default_act``."""

    default_act = "relu"
    _build: Callable[..., None]  # (BlockArgs, **the type's options) -> None: makes the layers

    def __init__(
        self,
        ndim: int,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        kernel: int = 3,
        dilation: int = 1,
        act_name: str | None = None,
        norm_name: str = "batch",
        **options: Any,
    ) -> None:
        super().__init__()
        args = BlockArgs(ndim, in_ch, out_ch, stride, kernel, dilation, act_name or self.default_act, norm_name)
        self._build(args, **options)


class PlainBlock(Block):
    """conv-norm-act, optionally followed by SE (the ``se`` block type)."""

    def _build(self, b: BlockArgs, se_ratio: float | None = None) -> None:
        self.conv = b.unit(b.in_ch, b.out_ch, b.stride)
        self.se = se_module(b.ndim, b.out_ch, se_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(self.conv(x))


class _Residual(Block, ABC):
    """What ResNet's blocks share after their convs (``_body``): SE on the result, plus the identity
    or projected shortcut, then the activation."""

    def _add_skip(self, b: BlockArgs, se_ratio: float | None) -> None:
        self.se = se_module(b.ndim, b.out_ch, se_ratio)
        self.shortcut = shortcut(b.ndim, b.in_ch, b.out_ch, b.stride, b.norm_name)
        self.act = act(b.act_name)

    @abstractmethod
    def _body(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch (before squeeze-and-excitation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.se(self._body(x)) + self.shortcut(x))


class BasicBlock(_Residual):
    """ResNet basic block: two kxk convs, SE optional, identity or projected skip."""

    expansion = 1

    def _build(self, b: BlockArgs, se_ratio: float | None = None) -> None:
        self.conv1 = b.unit(b.in_ch, b.out_ch, b.stride)
        self.conv2 = b.unit(b.out_ch, b.out_ch, act=False)
        self._add_skip(b, se_ratio)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class Bottleneck(_Residual):
    """ResNet bottleneck: 1x1 reduce to out/4, kxk (stride here, as in torchvision's v1.5), 1x1 expand.

    ``groups``/``mid_ch`` give ResNeXt; ``se_ratio`` gives SE-ResNet.
    """

    expansion = 4

    def _build(self, b: BlockArgs, se_ratio: float | None = None, groups: int = 1, mid_ch: int | None = None) -> None:
        mid = mid_ch or max(1, b.out_ch // self.expansion)
        self.conv1 = b.unit(b.in_ch, mid, pointwise=True)
        self.conv2 = b.unit(mid, mid, b.stride, groups)
        self.conv3 = b.unit(mid, b.out_ch, pointwise=True, act=False)
        self._add_skip(b, se_ratio)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


class InvertedResidual(Block):
    """MobileNetV2 / EfficientNet MBConv: 1x1 expand, depthwise kxk, SE, linear 1x1 project.

    The skip is used when stride is 1 and channels match. ``se_ratio`` is taken of the block's
    input channels (EfficientNet's convention), ``se_channels`` overrides it; ``se_act``/``se_gate``
    give MobileNetV3's variant.
    """

    default_act = "relu6"

    def _build(
        self,
        b: BlockArgs,
        expansion: float = 6,
        se_ratio: float | None = None,
        hidden_ch: int | None = None,
        se_channels: int | None = None,
        se_act: str | None = None,
        se_gate: str = "sigmoid",
    ) -> None:
        hidden = hidden_ch or round(b.in_ch * expansion)
        self.expand = b.unit(b.in_ch, hidden, pointwise=True) if hidden != b.in_ch else nn.Identity()
        self.depthwise = b.unit(hidden, hidden, b.stride, groups=hidden)
        rd = se_channels or (max(1, int(b.in_ch * se_ratio)) if se_ratio else None)
        self.se = SqueezeExcite(b.ndim, hidden, rd, se_act or b.act_name, se_gate) if rd else nn.Identity()
        self.project = b.unit(hidden, b.out_ch, pointwise=True, act=False)
        self.use_skip = b.stride == 1 and b.in_ch == b.out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.use_skip else y


class DenseLayer(Block):
    """DenseNet-BC layer: norm-act-1x1 (bn_size*growth) -> norm-act-kxk (growth: ``out_ch``); its
    output is concatenated to its input. Stride 1 only."""

    def _build(self, b: BlockArgs, bn_size: int = 4) -> None:
        if b.stride != 1:
            raise ValueError(f"a dense layer keeps its input size: stride must be 1, got {b.stride}")
        mid = bn_size * b.out_ch
        self.layers = nn.Sequential(
            norm(b.norm_name, b.ndim, b.in_ch),
            act(b.act_name),
            conv(b.ndim, b.in_ch, mid, 1),
            norm(b.norm_name, b.ndim, mid),
            act(b.act_name),
            conv(b.ndim, mid, b.out_ch, b.kernel, dilation=b.dilation),
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


class DenseStage(Block):
    """``depth`` dense layers of growth ``growth``, then a 1x1 transition to ``out_ch``.

    Dense stages downsample by average pooling at their start (DenseNet's transitions pool).
    """

    def _build(self, b: BlockArgs, *, depth: int, growth: int) -> None:
        self.pool = avg_pool(b.ndim, 2) if b.stride > 1 else nn.Identity()
        layers, ch = [], b.in_ch
        for _ in range(depth):
            layers.append(DenseLayer(b.ndim, ch, growth, 1, b.kernel, b.dilation, b.act_name, b.norm_name))
            ch += growth
        self.layers = nn.Sequential(*layers)
        self.transition = Transition(b.ndim, ch, b.out_ch, b.act_name, b.norm_name, pool=False)

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
