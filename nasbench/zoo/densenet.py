"""DenseNet-BC (Huang et al., 2017, Table 1): growth rate 32, 4*growth bottlenecks, transitions
halving the channels, as torchvision defines DenseNet-121/169/201.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nasbench.nn.blocks import DenseLayer, Transition
from nasbench.nn.layers import act, norm
from nasbench.zoo.common import NDIM, STEM_ADAPTATION, ZooNet, init_conv_norm, pool_linear_head, resnet_stem
from nasbench.zoo.registry import Family, register_variants

FAMILY = Family("DenseNet", STEM_ADAPTATION)


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
    stem = resnet_stem(in_channels, cfg.stem_ch, small_input)
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
