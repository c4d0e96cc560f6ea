"""MobileNet V2 (Sandler et al., 2018, Table 2): inverted residuals with linear bottlenecks, ReLU6,
a 1x1 to 1280 channels, dropout 0.2 (torchvision's head). The width multiplier rounds channels to
multiples of 8 and never thins the last 1x1 below 1280.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from nasbench.nn.blocks import InvertedResidual
from nasbench.nn.layers import ConvNormAct
from nasbench.space.widths import make_divisible
from nasbench.zoo.common import NDIM, ZooNet, init_conv_norm, init_linear_normal, pool_linear_head, strided_stem
from nasbench.zoo.registry import Family, register_model

FAMILY = Family("MobileNet V2", "stem conv stride 2 becomes stride 1", scales_width=True)


@dataclass(frozen=True)
class MobileNetV2Config:
    # (expansion t, output channels c, repeats n, first stride s), Table 2
    stages: tuple[tuple[int, int, int, int], ...] = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    stem_ch: int = 32
    last_ch: int = 1280
    dropout: float = 0.2


def build_mobilenet_v2(
    cfg: MobileNetV2Config, num_classes: int, in_channels: int, small_input: bool, width_mult: float
) -> ZooNet:
    ch = make_divisible(cfg.stem_ch * width_mult)
    stem = strided_stem(in_channels, ch, small_input, "relu6")
    layers: list[nn.Module] = []
    for t, c, n, s in cfg.stages:
        out = make_divisible(c * width_mult)
        for i in range(n):
            layers.append(InvertedResidual(NDIM, ch, out, s if i == 0 else 1, act_name="relu6", expansion=t))
            ch = out
    last = make_divisible(cfg.last_ch * max(1.0, width_mult))
    layers.append(ConvNormAct(NDIM, ch, last, 1, act_name="relu6"))
    model = ZooNet(stem, nn.Sequential(*layers), pool_linear_head(last, num_classes, cfg.dropout))
    init_conv_norm(model)
    init_linear_normal(model, 0.01)
    return model


@register_model(FAMILY, documented="MobileNet-V2")
def mobilenet_v2(**kwargs: Any) -> nn.Module:
    return build_mobilenet_v2(MobileNetV2Config(), **kwargs)
