"""MobileNet V1 (Howard et al., 2017, Table 1): a 3x3/2 stem then 13 depthwise-separable layers
(depthwise 3x3 - BN - ReLU, pointwise 1x1 - BN - ReLU); the width multiplier alpha thins every
layer (rounded to multiples of 8, which reproduces the paper's 0.25/0.5/0.75 widths exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from nasbench.nn.layers import ConvNormAct
from nasbench.space.widths import make_divisible
from nasbench.zoo.common import NDIM, ZooNet, init_conv_norm, pool_linear_head, strided_stem
from nasbench.zoo.registry import Family, register_model

FAMILY = Family("MobileNet V1", "stem conv stride 2 becomes stride 1", scales_width=True)


@dataclass(frozen=True)
class MobileNetV1Config:
    # (output channels, stride) of each depthwise-separable layer
    layers: tuple[tuple[int, int], ...] = (
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    )
    stem_ch: int = 32


def depthwise_separable(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    return nn.Sequential(ConvNormAct(NDIM, in_ch, in_ch, 3, stride, groups=in_ch), ConvNormAct(NDIM, in_ch, out_ch, 1))


def build_mobilenet_v1(
    cfg: MobileNetV1Config, num_classes: int, in_channels: int, small_input: bool, width_mult: float
) -> ZooNet:
    ch = make_divisible(cfg.stem_ch * width_mult)
    stem = strided_stem(in_channels, ch, small_input)
    layers = []
    for out, stride in cfg.layers:
        out = make_divisible(out * width_mult)
        layers.append(depthwise_separable(ch, out, stride))
        ch = out
    model = ZooNet(stem, nn.Sequential(*layers), pool_linear_head(ch, num_classes))
    init_conv_norm(model)
    return model


@register_model(FAMILY, documented="MobileNet-V1")
def mobilenet_v1(**kwargs: Any) -> nn.Module:
    return build_mobilenet_v1(MobileNetV1Config(), **kwargs)
