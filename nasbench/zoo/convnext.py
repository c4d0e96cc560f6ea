"""ConvNeXt (Liu et al., 2022, section 3) as the authors' code and timm define it: a 4x4/4
"patchify" stem with LayerNorm, stages of blocks (7x7 depthwise conv, LayerNorm, 1x1 to 4x,
GELU, 1x1 back, layer scale starting at 1e-6, identity skip), LayerNorm + 2x2/2 conv between
stages, and global average pool - LayerNorm - linear as the head. Stochastic depth is a
training-recipe setting in the reference code (0 by default) and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.nn.layers import conv
from nasbench.zoo.common import NDIM, ZooNet, has_values
from nasbench.zoo.registry import Family, register_variants

FAMILY = Family("ConvNeXt", "the 4x4 stride-4 patchify stem conv becomes a 3x3 stride-1 conv")

LN_EPS = 1e-6
LAYER_SCALE_INIT = 1e-6


@dataclass(frozen=True)
class ConvNeXtConfig:
    depths: tuple[int, ...]
    dims: tuple[int, ...]
    kernel: int = 7
    mlp_ratio: int = 4


VARIANTS = {
    "convnext_tiny": ConvNeXtConfig((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ConvNeXtConfig((3, 3, 27, 3), (96, 192, 384, 768)),
    "convnext_base": ConvNeXtConfig((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnext_large": ConvNeXtConfig((3, 3, 27, 3), (192, 384, 768, 1536)),
    "convnext_xlarge": ConvNeXtConfig((3, 3, 27, 3), (256, 512, 1024, 2048)),
}


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """dwconv kxk -> LayerNorm -> linear 4x -> GELU -> linear -> layer scale, plus identity."""

    def __init__(self, dim: int, kernel: int, mlp_ratio: int) -> None:
        super().__init__()
        self.dwconv = conv(NDIM, dim, dim, kernel, groups=dim, bias=True)
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))
        self.gamma = nn.Parameter(torch.full((dim,), LAYER_SCALE_INIT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))  # channels last for LayerNorm/Linear
        return x + (self.mlp(y) * self.gamma).permute(0, 3, 1, 2)


def _init(model: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights and zero biases for convs and linears."""
    if not has_values(model):
        return
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build_convnext(cfg: ConvNeXtConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    dim = cfg.dims[0]
    if small_input:
        stem_conv = conv(NDIM, in_channels, dim, 3, stride=1, bias=True)
    else:
        stem_conv = conv(NDIM, in_channels, dim, 4, stride=4, bias=True, padding=0)
    stem = nn.Sequential(stem_conv, LayerNorm2d(dim, eps=LN_EPS))
    stages: list[nn.Module] = []
    for i, (depth, out) in enumerate(zip(cfg.depths, cfg.dims)):
        layers: list[nn.Module] = []
        if i > 0:
            layers += [LayerNorm2d(dim, eps=LN_EPS), conv(NDIM, dim, out, 2, stride=2, bias=True, padding=0)]
        layers += [ConvNeXtBlock(out, cfg.kernel, cfg.mlp_ratio) for _ in range(depth)]
        stages.append(nn.Sequential(*layers))
        dim = out
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.LayerNorm(dim, eps=LN_EPS), nn.Linear(dim, num_classes)
    )
    model = ZooNet(stem, nn.Sequential(*stages), head)
    _init(model)
    return model


register_variants(
    FAMILY, build_convnext, VARIANTS, documented={"convnext_base": "ConvNeXt-B", "convnext_xlarge": "ConvNeXt-XL"}
)
