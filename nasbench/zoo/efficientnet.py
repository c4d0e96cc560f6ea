"""EfficientNet-B0 ... B7 (Tan & Le, 2019): one B0 base (Table 1) and the compound-scaling
coefficients (width, depth, resolution, dropout) of each variant, applied as the reference code
does: ``round_filters`` (widths to multiples of 8, never 10% below) and ``round_repeats``
(ceil of depth x repeats). MBConv blocks with SE (a quarter of the block's input width), SiLU,
and stochastic depth rising linearly to 0.2 over the blocks, as in torchvision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench.nn.blocks import InvertedResidual
from nasbench.nn.layers import ConvNormAct
from nasbench.space.widths import make_divisible
from nasbench.zoo.common import NDIM, ZooNet, has_values, init_conv_norm, pool_linear_head, strided_stem
from nasbench.zoo.registry import Family, register_variants

FAMILY = Family("EfficientNet", "stem conv stride 2 becomes stride 1", scales_width=True)


@dataclass(frozen=True)
class MBStage:
    expansion: int
    kernel: int
    stride: int
    out: int
    repeats: int


@dataclass(frozen=True)
class Scaling:
    width: float
    depth: float
    resolution: int
    dropout: float


B0_STAGES = (
    MBStage(1, 3, 1, 16, 1),
    MBStage(6, 3, 2, 24, 2),
    MBStage(6, 5, 2, 40, 2),
    MBStage(6, 3, 2, 80, 3),
    MBStage(6, 5, 1, 112, 3),
    MBStage(6, 5, 2, 192, 4),
    MBStage(6, 3, 1, 320, 1),
)
B0_STEM, B0_HEAD = 32, 1280
SE_RATIO = 0.25
STOCHASTIC_DEPTH = 0.2

SCALING = {
    "efficientnet_b0": Scaling(1.0, 1.0, 224, 0.2),
    "efficientnet_b1": Scaling(1.0, 1.1, 240, 0.2),
    "efficientnet_b2": Scaling(1.1, 1.2, 260, 0.3),
    "efficientnet_b3": Scaling(1.2, 1.4, 300, 0.3),
    "efficientnet_b4": Scaling(1.4, 1.8, 380, 0.4),
    "efficientnet_b5": Scaling(1.6, 2.2, 456, 0.4),
    "efficientnet_b6": Scaling(1.8, 2.6, 528, 0.5),
    "efficientnet_b7": Scaling(2.0, 3.1, 600, 0.5),
}


def round_filters(channels: int, width: float) -> int:
    return make_divisible(channels * width, 8)


def round_repeats(repeats: int, depth: float) -> int:
    return math.ceil(depth * repeats)


class MBConv(InvertedResidual):
    """InvertedResidual whose residual branch is dropped per sample with probability ``drop``."""

    def __init__(self, *args: Any, drop: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        if not self.use_skip:
            return y
        if self.training and self.drop > 0:
            keep = 1.0 - self.drop
            mask = y.new_empty([y.shape[0]] + [1] * (y.dim() - 1)).bernoulli_(keep)
            y = y * mask / keep
        return x + y


def _init_classifier(model: nn.Module) -> None:
    """Uniform in +-1/sqrt(classes), zero bias: torchvision's EfficientNet classifier init."""
    if not has_values(model):
        return
    for m in model.modules():
        if isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.out_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


def build_efficientnet(
    scaling: Scaling,
    num_classes: int,
    in_channels: int,
    small_input: bool,
    width_mult: float,
    stages: tuple[MBStage, ...] = B0_STAGES,
) -> ZooNet:
    width = scaling.width * width_mult
    ch = round_filters(B0_STEM, width)
    stem = strided_stem(in_channels, ch, small_input, "silu")
    total = sum(round_repeats(s.repeats, scaling.depth) for s in stages)
    layers: list[nn.Module] = []
    for stage in stages:
        out = round_filters(stage.out, width)
        for i in range(round_repeats(stage.repeats, scaling.depth)):
            layers.append(
                MBConv(
                    NDIM,
                    ch,
                    out,
                    stage.stride if i == 0 else 1,
                    stage.kernel,
                    act_name="silu",
                    hidden_ch=make_divisible(ch * stage.expansion),
                    se_ratio=SE_RATIO,
                    drop=STOCHASTIC_DEPTH * len(layers) / total,
                )
            )
            ch = out
    head_ch = round_filters(B0_HEAD, width)
    layers.append(ConvNormAct(NDIM, ch, head_ch, 1, act_name="silu"))
    model = ZooNet(stem, nn.Sequential(*layers), pool_linear_head(head_ch, num_classes, scaling.dropout))
    init_conv_norm(model)
    _init_classifier(model)
    return model


register_variants(
    FAMILY,
    build_efficientnet,
    SCALING,
    documented={"efficientnet_b7": "EfficientNet-B7"},
    resolutions={name: scaling.resolution for name, scaling in SCALING.items()},
)
