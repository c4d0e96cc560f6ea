"""VGG (Simonyan & Zisserman, 2015, Table 1 configurations A, B, D, E = VGG-11/13/16/19), with the
optional batch normalisation after every convolution that torchvision's ``*_bn`` variants add.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nasbench.nn.layers import conv, max_pool, norm
from nasbench.zoo.common import NDIM, ZooNet, init_conv_norm, init_linear_normal
from nasbench.zoo.registry import Family, register_variants

FAMILY = Family(
    "VGG",
    "the classifier reads a 1x1 average-pooled map (512 features) instead of "
    "a 7x7 one, and the 2x2 max-pools round up so 28x28 inputs survive all five "
    "(their stem is already a 3x3 stride-1 conv)",
)

WIDTHS = (64, 128, 256, 512, 512)


@dataclass(frozen=True)
class VGGConfig:
    depths: tuple[int, ...]  # 3x3 convs per stage; each stage ends in a 2x2 max-pool
    batch_norm: bool = False
    widths: tuple[int, ...] = WIDTHS
    hidden: int = 4096
    pooled: int = 7
    dropout: float = 0.5


VARIANTS = {
    "vgg11": VGGConfig((1, 1, 2, 2, 2)),
    "vgg13": VGGConfig((2, 2, 2, 2, 2)),
    "vgg16": VGGConfig((2, 2, 3, 3, 3)),
    "vgg19": VGGConfig((2, 2, 4, 4, 4)),
}
VARIANTS.update({f"{name}_bn": VGGConfig(cfg.depths, batch_norm=True) for name, cfg in list(VARIANTS.items())})


def _conv_unit(in_ch: int, out_ch: int, batch_norm: bool) -> list[nn.Module]:
    # the convs keep their biases even before batch norm, as in torchvision's VGG
    layers = [conv(NDIM, in_ch, out_ch, 3, bias=True)]
    layers += [norm("batch", NDIM, out_ch)] if batch_norm else []
    return [*layers, nn.ReLU(inplace=True)]


def build_vgg(cfg: VGGConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    stem = nn.Sequential(*_conv_unit(in_channels, cfg.widths[0], cfg.batch_norm))
    layers: list[nn.Module] = []
    ch = cfg.widths[0]
    for i, (depth, width) in enumerate(zip(cfg.depths, cfg.widths)):
        for _ in range(depth - 1 if i == 0 else depth):
            layers += _conv_unit(ch, width, cfg.batch_norm)
            ch = width
        layers.append(max_pool(NDIM, 2, ceil_mode=small_input))
    pooled = 1 if small_input else cfg.pooled
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d(pooled),
        nn.Flatten(1),
        nn.Linear(ch * pooled * pooled, cfg.hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(cfg.dropout),
        nn.Linear(cfg.hidden, cfg.hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(cfg.dropout),
        nn.Linear(cfg.hidden, num_classes),
    )
    model = ZooNet(stem, nn.Sequential(*layers), head)
    init_conv_norm(model)
    init_linear_normal(model, 0.01)
    return model


register_variants(FAMILY, build_vgg, VARIANTS, documented={"vgg16": "VGG-16", "vgg19": "VGG-19"})
