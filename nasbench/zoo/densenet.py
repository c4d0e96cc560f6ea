"""DenseNet-BC (Huang et al., 2017, Table 1): growth rate 32, 4*growth bottlenecks, transitions
halving the channels, as torchvision defines DenseNet-121/169/201.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nasbench.nn.blocks import DenseLayer, Transition
from nasbench.nn.layers import ConvNormAct, act, max_pool, norm
from nasbench.zoo.common import NDIM, ZooNet, init_conv_norm, pool_linear_head
from nasbench.zoo.registry import Family, register_variants

FAMILY = Family("DenseNet", "stem conv 7x7 stride 2 becomes 3x3 stride 1 and the stem's max-pool is removed")


@dataclass(frozen=True)
class DenseNetConfig:
    layers: tuple[int, ...]  # dense layers per block
    growth: int = 32
    stem_ch: int = 64
    compression: float = 0.5


VARIANTS = {
    "densenet121": DenseNetConfig((6, 12, 24, 16)),
    "densenet169": DenseNetConfig((6, 12, 32, 32)),
    "densenet201": DenseNetConfig((6, 12, 48, 32)),
}


def build_densenet(cfg: DenseNetConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    if small_input:
        stem: nn.Module = ConvNormAct(NDIM, in_channels, cfg.stem_ch, 3, 1)
    else:
        stem = nn.Sequential(ConvNormAct(NDIM, in_channels, cfg.stem_ch, 7, 2), max_pool(NDIM, 3, 2, padding=1))
    layers: list[nn.Module] = []
    ch = cfg.stem_ch
    for i, depth in enumerate(cfg.layers):
        for _ in range(depth):
            layers.append(DenseLayer(NDIM, ch, cfg.growth))
            ch += cfg.growth
        if i < len(cfg.layers) - 1:
            out = int(ch * cfg.compression)
            layers.append(Transition(NDIM, ch, out))
            ch = out
    layers += [norm("batch", NDIM, ch), act("relu")]
    model = ZooNet(stem, nn.Sequential(*layers), pool_linear_head(ch, num_classes))
    init_conv_norm(model)
    return model


register_variants(FAMILY, build_densenet, VARIANTS, documented={"densenet121": "DenseNet-121"})
