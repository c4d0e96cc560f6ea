"""One builder: ``Architecture -> nn.Module`` for 1D, 2D or 3D inputs."""

from __future__ import annotations

import torch
from torch import nn

from nasbench.nn.blocks import DenseStage, get_block
from nasbench.nn.layers import ConvNormAct, global_pool, max_pool
from nasbench.space.architecture import Architecture, Stage


class Network(nn.Module):
    """stem -> stages -> head conv (optional) -> global average pool -> dropout -> linear classifier."""

    def __init__(
        self,
        stem: nn.Module,
        stages: nn.Sequential,
        head_in: int,
        num_classes: int,
        ndim: int,
        dropout: float = 0.0,
        head_conv: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.stem = stem
        self.stages = stages
        self.head_conv = head_conv or nn.Identity()
        self.pool = global_pool(ndim)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(head_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.head_conv(self.stages(self.stem(x)))).flatten(1)
        return self.classifier(self.dropout(x))


def build_stage(stage: Stage, in_ch: int, ndim: int, act_name: str, norm_name: str) -> nn.Module:
    """The blocks of one stage; downsampling happens at its start."""
    stride = 2 if stage.downsample == "stride" else 1
    if stage.block == "dense":
        return DenseStage(
            ndim,
            in_ch,
            stage.width,
            stride=2 if stage.downsample != "none" else 1,
            kernel=stage.kernel,
            dilation=stage.dilation,
            act_name=act_name,
            norm_name=norm_name,
            depth=stage.depth,
            growth=stage.growth or 12,
        )
    factory = get_block(stage.block)
    layers: list[nn.Module] = []
    if stage.downsample == "pool":
        layers.append(max_pool(ndim, 2))
    ch = in_ch
    for i in range(stage.depth):
        kwargs = dict(
            stride=stride if i == 0 else 1,
            kernel=stage.kernel,
            dilation=stage.dilation,
            act_name=act_name,
            norm_name=norm_name,
        )
        if stage.block == "inverted":
            kwargs["expansion"] = stage.expansion or 6
        if stage.se_ratio:
            kwargs["se_ratio"] = stage.se_ratio
        layers.append(factory(ndim, ch, stage.width, **kwargs))
        ch = stage.width
    return nn.Sequential(*layers)


def build_network(arch: Architecture, in_channels: int, num_classes: int, ndim: int = 2) -> Network:
    """Build the network an Architecture describes for ``ndim``-dimensional inputs."""
    stem = ConvNormAct(
        ndim,
        in_channels,
        arch.stem_width,
        arch.stem_kernel,
        arch.stem_stride,
        norm_name=arch.norm,
        act_name=arch.activation,
    )
    stages, ch = [], arch.stem_width
    for stage in arch.stages:
        stages.append(build_stage(stage, ch, ndim, arch.activation, arch.norm))
        ch = stage.width
    head_conv = None
    if arch.head_width:
        head_conv = ConvNormAct(ndim, ch, arch.head_width, 1, norm_name=arch.norm, act_name=arch.activation)
        ch = arch.head_width
    return Network(stem, nn.Sequential(*stages), ch, num_classes, ndim, arch.head_dropout, head_conv)
