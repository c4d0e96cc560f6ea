"""Pre-activation ResNets (He et al., 2016, "Identity mappings in deep residual networks"):
batchnorm-ReLU before each conv, an untouched identity path, and a final batchnorm-ReLU.

``preact_resnet18/50`` follow the ImageNet layout of fb.resnet.torch's ``preresnet.lua``, which
the paper's authors point to: the stem ends in batchnorm-ReLU-max-pool, so the first block skips
its own pre-activation, and projection shortcuts read the pre-activated input. ``wrn28_10`` is
Zagoruyko & Komodakis' (2016) CIFAR Wide ResNet WRN-28-10: a bare 3x3 stem, three stages of four
pre-activation basic blocks 10x as wide as ResNet's 16-32-64.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from nasbench.nn.layers import act, conv, max_pool, norm
from nasbench.zoo.common import NDIM, STEM_ADAPTATION, ZooNet, init_conv_norm, pool_linear_head
from nasbench.zoo.registry import Family, register_model, register_variants

PREACT = Family("Pre-activation ResNet", STEM_ADAPTATION)
WRN = Family("Wide ResNet", "none: WRN-28-10 is natively a 32x32 (CIFAR) network")


@dataclass(frozen=True)
class PreActConfig:
    block: str  # "basic" or "bottleneck"
    layers: tuple[int, ...]
    widths: tuple[int, ...]  # block output channels per stage
    strides: tuple[int, ...]
    stem_ch: int = 64
    imagenet_stem: bool = True  # 7x7/2 conv-BN-ReLU + max-pool, else a bare 3x3 conv


VARIANTS = {
    "preact_resnet18": PreActConfig("basic", (2, 2, 2, 2), (64, 128, 256, 512), (1, 2, 2, 2)),
    "preact_resnet50": PreActConfig("bottleneck", (3, 4, 6, 3), (256, 512, 1024, 2048), (1, 2, 2, 2)),
    "wrn28_10": PreActConfig("basic", (4, 4, 4), (160, 320, 640), (1, 2, 2), stem_ch=16, imagenet_stem=False),
}


class PreActBlock(nn.Module):
    """BN-ReLU-conv units on the residual path; 1x1 projection shortcut where shapes change.

    ``kernels`` 3,3 gives the basic block, 1,3,1 the bottleneck (stride on its 3x3); ``mid_ch``
    is the width inside the block.
    """

    def __init__(
        self, in_ch: int, out_ch: int, stride: int, kernels: tuple[int, ...], mid_ch: int, preact: bool = True
    ) -> None:
        super().__init__()
        self.preact = nn.Sequential(norm("batch", NDIM, in_ch), act("relu")) if preact else None
        units: list[nn.Module] = []
        ch, stride_at = in_ch, kernels.index(3)
        for i, kernel in enumerate(kernels):
            out = out_ch if i == len(kernels) - 1 else mid_ch
            if i > 0:
                units += [norm("batch", NDIM, ch), act("relu")]
            units.append(conv(NDIM, ch, out, kernel, stride=stride if i == stride_at else 1))
            ch = out
        self.residual = nn.Sequential(*units)
        self.shortcut = conv(NDIM, in_ch, out_ch, 1, stride=stride) if stride != 1 or in_ch != out_ch else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.preact(x) if self.preact is not None else x
        skip = x if self.shortcut is None else self.shortcut(pre)
        return self.residual(pre) + skip


def _block(cfg: PreActConfig, in_ch: int, out_ch: int, stride: int, preact: bool) -> PreActBlock:
    if cfg.block == "basic":
        return PreActBlock(in_ch, out_ch, stride, (3, 3), out_ch, preact)
    return PreActBlock(in_ch, out_ch, stride, (1, 3, 1), out_ch // 4, preact)


def _stem(cfg: PreActConfig, in_channels: int, small_input: bool) -> nn.Module:
    if not cfg.imagenet_stem:
        return conv(NDIM, in_channels, cfg.stem_ch, 3)
    bn_relu = [norm("batch", NDIM, cfg.stem_ch), act("relu")]
    if small_input:
        return nn.Sequential(conv(NDIM, in_channels, cfg.stem_ch, 3), *bn_relu)
    return nn.Sequential(conv(NDIM, in_channels, cfg.stem_ch, 7, stride=2), *bn_relu, max_pool(NDIM, 3, 2, padding=1))


def build_preact_resnet(cfg: PreActConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    stages, ch = [], cfg.stem_ch
    for i, (depth, width, stride) in enumerate(zip(cfg.layers, cfg.widths, cfg.strides)):
        blocks = []
        for j in range(depth):
            # an ImageNet stem already ends in BN-ReLU, so the very first block skips its own
            preact = not (cfg.imagenet_stem and i == 0 and j == 0)
            blocks.append(_block(cfg, ch, width, stride if j == 0 else 1, preact))
            ch = width
        stages.append(nn.Sequential(*blocks))
    stages.append(nn.Sequential(norm("batch", NDIM, ch), act("relu")))
    model = ZooNet(_stem(cfg, in_channels, small_input), nn.Sequential(*stages), pool_linear_head(ch, num_classes))
    init_conv_norm(model)
    return model


register_variants(PREACT, build_preact_resnet, VARIANTS, ("preact_resnet18", "preact_resnet50"))
register_model(WRN, resolution=32, num_classes=10, name="wrn28_10")(partial(build_preact_resnet, VARIANTS["wrn28_10"]))
