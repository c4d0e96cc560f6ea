"""AlexNet as torchvision defines it: the single-tower variant of Krizhevsky's "One weird trick"
(2014, arXiv:1404.5997) with 64-192-384-256-256 filters, no local response normalisation, and
the 2012 paper's 4096-4096 classifier with dropout 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from nasbench.nn.layers import conv, max_pool
from nasbench.zoo.common import NDIM, ZooNet
from nasbench.zoo.registry import Family, register_model

FAMILY = Family(
    "AlexNet",
    "stem conv 11x11 stride 4 becomes 3x3 stride 1, and the classifier "
    "reads a 1x1 average-pooled map (256 features) instead of a 6x6 one",
)


@dataclass(frozen=True)
class AlexNetConfig:
    # (out_channels, kernel, max-pool after) of conv2..conv5; conv1 is the stem
    convs: tuple[tuple[int, int, bool], ...] = ((192, 5, True), (384, 3, False), (256, 3, False), (256, 3, True))
    stem_ch: int = 64
    hidden: int = 4096
    pooled: int = 6
    dropout: float = 0.5


def build_alexnet(cfg: AlexNetConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    if small_input:
        stem_conv = conv(NDIM, in_channels, cfg.stem_ch, 3, stride=1, bias=True)
    else:
        stem_conv = conv(NDIM, in_channels, cfg.stem_ch, 11, stride=4, bias=True, padding=2)
    stem = nn.Sequential(stem_conv, nn.ReLU(inplace=True))
    layers: list[nn.Module] = [max_pool(NDIM, 3, 2)]
    ch = cfg.stem_ch
    for out, kernel, pool in cfg.convs:
        layers += [conv(NDIM, ch, out, kernel, bias=True), nn.ReLU(inplace=True)]
        layers += [max_pool(NDIM, 3, 2)] if pool else []
        ch = out
    pooled = 1 if small_input else cfg.pooled
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d(pooled),
        nn.Flatten(1),
        nn.Dropout(cfg.dropout),
        nn.Linear(ch * pooled * pooled, cfg.hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(cfg.dropout),
        nn.Linear(cfg.hidden, cfg.hidden),
        nn.ReLU(inplace=True),
        nn.Linear(cfg.hidden, num_classes),
    )
    return ZooNet(stem, nn.Sequential(*layers), head)


@register_model(FAMILY, documented="AlexNet")
def alexnet(**kwargs: Any) -> nn.Module:
    return build_alexnet(AlexNetConfig(), **kwargs)
