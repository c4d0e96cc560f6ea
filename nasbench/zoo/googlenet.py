"""GoogLeNet (Szegedy et al., 2015, "Going deeper with convolutions", Table 1), without the two
auxiliary classifiers (they only serve training).

Layers, filter counts, kernel sizes (5x5 in the third branch), 3x3/2 max-pools rounding up, and
dropout 0.4 follow the paper. Each convolution is conv-batchnorm-ReLU as in torchvision's port,
which replaces the paper's local response normalisation. Unlike that port we keep the paper's
5x5 kernels: torchvision's 3x3 there is a conversion slip kept for its pretrained weights
(pytorch/vision issue #906), and we load no weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench.nn.layers import ConvNormAct, max_pool
from nasbench.zoo.common import NDIM, ZooNet, init_conv_norm, pool_linear_head
from nasbench.zoo.registry import Family, register_model

FAMILY = Family("GoogLeNet", "stem conv 7x7 stride 2 becomes 3x3 stride 1 and the stem's two max-pools are removed")


@dataclass(frozen=True)
class InceptionConfig:
    """Output channels of the branches: 1x1 | 3x3 reduce, 3x3 | 5x5 reduce, 5x5 | pool proj."""

    c1: int
    c3_reduce: int
    c3: int
    c5_reduce: int
    c5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        return self.c1 + self.c3 + self.c5 + self.pool_proj


POOL = None  # a 3x3/2 max-pool between inception groups

# Table 1, from inception (3a) to (5b)
BODY: tuple[InceptionConfig | None, ...] = (
    InceptionConfig(64, 96, 128, 16, 32, 32),
    InceptionConfig(128, 128, 192, 32, 96, 64),
    POOL,
    InceptionConfig(192, 96, 208, 16, 48, 64),
    InceptionConfig(160, 112, 224, 24, 64, 64),
    InceptionConfig(128, 128, 256, 24, 64, 64),
    InceptionConfig(112, 144, 288, 32, 64, 64),
    InceptionConfig(256, 160, 320, 32, 128, 128),
    POOL,
    InceptionConfig(256, 160, 320, 32, 128, 128),
    InceptionConfig(384, 192, 384, 48, 128, 128),
)


class Inception(nn.Module):
    """Four parallel branches (1x1; 1x1-3x3; 1x1-5x5; 3x3 max-pool-1x1), concatenated."""

    def __init__(self, in_ch: int, cfg: InceptionConfig) -> None:
        super().__init__()
        self.branch1 = ConvNormAct(NDIM, in_ch, cfg.c1, 1)
        self.branch3 = nn.Sequential(
            ConvNormAct(NDIM, in_ch, cfg.c3_reduce, 1), ConvNormAct(NDIM, cfg.c3_reduce, cfg.c3, 3)
        )
        self.branch5 = nn.Sequential(
            ConvNormAct(NDIM, in_ch, cfg.c5_reduce, 1), ConvNormAct(NDIM, cfg.c5_reduce, cfg.c5, 5)
        )
        self.branch_pool = nn.Sequential(
            max_pool(NDIM, 3, 1, padding=1, ceil_mode=True), ConvNormAct(NDIM, in_ch, cfg.pool_proj, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


def _pool() -> nn.Module:
    return max_pool(NDIM, 3, 2, ceil_mode=True)


def build_googlenet(
    num_classes: int,
    in_channels: int,
    small_input: bool,
    body: tuple[InceptionConfig | None, ...] = BODY,
    dropout: float = 0.4,
) -> ZooNet:
    if small_input:
        stem = nn.Sequential(
            ConvNormAct(NDIM, in_channels, 64, 3, 1), ConvNormAct(NDIM, 64, 64, 1), ConvNormAct(NDIM, 64, 192, 3)
        )
    else:
        stem = nn.Sequential(
            ConvNormAct(NDIM, in_channels, 64, 7, 2),
            _pool(),
            ConvNormAct(NDIM, 64, 64, 1),
            ConvNormAct(NDIM, 64, 192, 3),
            _pool(),
        )
    layers: list[nn.Module] = []
    ch = 192
    for cfg in body:
        if cfg is POOL:
            layers.append(_pool())
        else:
            layers.append(Inception(ch, cfg))
            ch = cfg.out_channels
    model = ZooNet(stem, nn.Sequential(*layers), pool_linear_head(ch, num_classes, dropout))
    init_conv_norm(model)
    return model


@register_model(FAMILY, documented="GoogLeNet")
def googlenet(**kwargs: Any) -> nn.Module:
    return build_googlenet(**kwargs)
