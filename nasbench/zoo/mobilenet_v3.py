"""MobileNet V3 Large and Small (Howard et al., 2019, Tables 1 and 2) as torchvision defines them:
inverted residuals with optional squeeze-and-excitation (squeeze to a multiple of 8 of a quarter
of the expanded width, ReLU, hard-sigmoid gate), ReLU or hard-swish per block, a 1x1 to 6x the
last width, then a 1280 (Large) / 1024 (Small) hidden linear layer with hard-swish and dropout 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nasbench.nn.blocks import InvertedResidual
from nasbench.nn.layers import ConvNormAct, global_pool
from nasbench.space.widths import make_divisible
from nasbench.zoo.common import NDIM, ZooNet, init_conv_norm, init_linear_normal, strided_stem
from nasbench.zoo.registry import Family, register_variants

FAMILY = Family("MobileNet V3", "stem conv stride 2 becomes stride 1", scales_width=True)


@dataclass(frozen=True)
class Bneck:
    kernel: int
    expanded: int
    out: int
    se: bool
    act: str  # "relu" or "hswish"
    stride: int


@dataclass(frozen=True)
class MobileNetV3Config:
    blocks: tuple[Bneck, ...]
    hidden: int  # the classifier's hidden linear layer
    stem_ch: int = 16
    dropout: float = 0.2


RE, HS = "relu", "hswish"
VARIANTS = {
    "mobilenet_v3_large": MobileNetV3Config(
        (
            Bneck(3, 16, 16, False, RE, 1),
            Bneck(3, 64, 24, False, RE, 2),
            Bneck(3, 72, 24, False, RE, 1),
            Bneck(5, 72, 40, True, RE, 2),
            Bneck(5, 120, 40, True, RE, 1),
            Bneck(5, 120, 40, True, RE, 1),
            Bneck(3, 240, 80, False, HS, 2),
            Bneck(3, 200, 80, False, HS, 1),
            Bneck(3, 184, 80, False, HS, 1),
            Bneck(3, 184, 80, False, HS, 1),
            Bneck(3, 480, 112, True, HS, 1),
            Bneck(3, 672, 112, True, HS, 1),
            Bneck(5, 672, 160, True, HS, 2),
            Bneck(5, 960, 160, True, HS, 1),
            Bneck(5, 960, 160, True, HS, 1),
        ),
        hidden=1280,
    ),
    "mobilenet_v3_small": MobileNetV3Config(
        (
            Bneck(3, 16, 16, True, RE, 2),
            Bneck(3, 72, 24, False, RE, 2),
            Bneck(3, 88, 24, False, RE, 1),
            Bneck(5, 96, 40, True, HS, 2),
            Bneck(5, 240, 40, True, HS, 1),
            Bneck(5, 240, 40, True, HS, 1),
            Bneck(5, 120, 48, True, HS, 1),
            Bneck(5, 144, 48, True, HS, 1),
            Bneck(5, 288, 96, True, HS, 2),
            Bneck(5, 576, 96, True, HS, 1),
            Bneck(5, 576, 96, True, HS, 1),
        ),
        hidden=1024,
    ),
}


def build_mobilenet_v3(
    cfg: MobileNetV3Config, num_classes: int, in_channels: int, small_input: bool, width_mult: float
) -> ZooNet:
    def scaled(ch: int) -> int:
        return make_divisible(ch * width_mult)

    ch = scaled(cfg.stem_ch)
    stem = strided_stem(in_channels, ch, small_input, HS)
    layers: list[nn.Module] = []
    for b in cfg.blocks:
        hidden = scaled(b.expanded)
        se = make_divisible(hidden // 4) if b.se else None
        layers.append(
            InvertedResidual(
                NDIM,
                ch,
                scaled(b.out),
                b.stride,
                b.kernel,
                act_name=b.act,
                hidden_ch=hidden,
                se_channels=se,
                se_act=RE,
                se_gate="hsigmoid",
            )
        )
        ch = scaled(b.out)
    last = 6 * ch
    layers.append(ConvNormAct(NDIM, ch, last, 1, act_name=HS))
    hidden = scaled(cfg.hidden)
    head = nn.Sequential(
        global_pool(NDIM),
        nn.Flatten(1),
        nn.Linear(last, hidden),
        nn.Hardswish(inplace=True),
        nn.Dropout(cfg.dropout),
        nn.Linear(hidden, num_classes),
    )
    model = ZooNet(stem, nn.Sequential(*layers), head)
    init_conv_norm(model)
    init_linear_normal(model, 0.01)
    return model


register_variants(FAMILY, build_mobilenet_v3, VARIANTS, documented={"mobilenet_v3_large": "MobileNet-V3-Large"})
