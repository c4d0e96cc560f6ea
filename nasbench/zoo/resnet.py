"""ResNet (He et al., 2016, Table 1) and the families that only change its bottleneck: Wide ResNet
(wider 3x3, Zagoruyko & Komodakis 2016), ResNeXt (grouped 3x3, Xie et al. 2017) and SE-ResNet
(squeeze-and-excitation, Hu et al. 2018, reduction 16). Downsampling sits on the 3x3 conv and
shortcuts are 1x1 projections where shapes change, as in torchvision's ResNet ("v1.5").
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from nasbench.nn.blocks import BasicBlock, Bottleneck
from nasbench.zoo.common import NDIM, STEM_ADAPTATION, ZooNet, init_conv_norm, pool_linear_head, resnet_stem
from nasbench.zoo.registry import Family, register_variants

RESNET = Family("ResNet", STEM_ADAPTATION)
WIDE = Family("Wide ResNet", STEM_ADAPTATION)
RESNEXT = Family("ResNeXt", STEM_ADAPTATION)
SE_RESNET = Family("SE-ResNet", STEM_ADAPTATION)

PLANES = (64, 128, 256, 512)


@dataclass(frozen=True)
class ResNetConfig:
    block: str  # "basic" or "bottleneck"
    layers: tuple[int, int, int, int]
    groups: int = 1
    width_per_group: int = 64  # 3x3 width per group when planes = 64 (ResNeXt's "d")
    se_ratio: float | None = None
    stem_ch: int = 64


VARIANTS = {
    "resnet18": ResNetConfig("basic", (2, 2, 2, 2)),
    "resnet34": ResNetConfig("basic", (3, 4, 6, 3)),
    "resnet50": ResNetConfig("bottleneck", (3, 4, 6, 3)),
    "resnet101": ResNetConfig("bottleneck", (3, 4, 23, 3)),
    "resnet152": ResNetConfig("bottleneck", (3, 8, 36, 3)),
    "wide_resnet50_2": ResNetConfig("bottleneck", (3, 4, 6, 3), width_per_group=128),
    "resnext50_32x4d": ResNetConfig("bottleneck", (3, 4, 6, 3), groups=32, width_per_group=4),
    "se_resnet50": ResNetConfig("bottleneck", (3, 4, 6, 3), se_ratio=1 / 16),
    "se_resnet152": ResNetConfig("bottleneck", (3, 8, 36, 3), se_ratio=1 / 16),
}


def _block(cfg: ResNetConfig, in_ch: int, planes: int, stride: int) -> tuple[nn.Module, int]:
    if cfg.block == "basic":
        return BasicBlock(NDIM, in_ch, planes, stride, se_ratio=cfg.se_ratio), planes
    out = planes * Bottleneck.expansion
    mid = planes * cfg.width_per_group // 64 * cfg.groups
    return Bottleneck(NDIM, in_ch, out, stride, se_ratio=cfg.se_ratio, groups=cfg.groups, mid_ch=mid), out


def build_resnet(cfg: ResNetConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    stem = resnet_stem(in_channels, cfg.stem_ch, small_input)
    stages, ch = [], cfg.stem_ch
    for i, (planes, depth) in enumerate(zip(PLANES, cfg.layers)):
        blocks = []
        for j in range(depth):
            block, ch = _block(cfg, ch, planes, 2 if i > 0 and j == 0 else 1)
            blocks.append(block)
        stages.append(nn.Sequential(*blocks))
    model = ZooNet(stem, nn.Sequential(*stages), pool_linear_head(ch, num_classes))
    init_conv_norm(model)
    return model


register_variants(
    RESNET,
    build_resnet,
    VARIANTS,
    ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"),
    documented={"resnet101": "ResNet-101", "resnet152": "ResNet-152"},
)
register_variants(WIDE, build_resnet, VARIANTS, ("wide_resnet50_2",))
register_variants(RESNEXT, build_resnet, VARIANTS, ("resnext50_32x4d",))
register_variants(
    SE_RESNET, build_resnet, VARIANTS, ("se_resnet50", "se_resnet152"), documented={"se_resnet152": "SE-ResNet-152"}
)
