"""What every zoo family shares: the stem -> body -> head module, heads and weight init."""

from __future__ import annotations

import torch
from torch import nn

from nasbench.nn.layers import ConvNormAct, global_pool, max_pool

NDIM = 2  # the zoo holds the documented 2D image networks
STEM_ADAPTATION = "stem conv 7x7 stride 2 becomes 3x3 stride 1 and the stem's max-pool is removed"


class ZooNet(nn.Module):
    """stem -> body -> head.

    Small-input variants differ from the native network in ``stem`` (and, where the native head
    fixes a spatial size, in ``head``) only; ``body`` is the same for both.
    """

    def __init__(self, stem: nn.Module, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.stem = stem
        self.body = body
        self.head = head

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def resnet_stem(in_channels: int, out_ch: int, small_input: bool) -> nn.Module:
    """ResNet's and DenseNet's stem: conv-norm-ReLU 7x7 stride 2 then a 3x3 stride-2 max-pool, or for
    small inputs one 3x3 stride-1 conv-norm-ReLU (``STEM_ADAPTATION``)."""
    if small_input:
        return ConvNormAct(NDIM, in_channels, out_ch, 3, 1)
    return nn.Sequential(ConvNormAct(NDIM, in_channels, out_ch, 7, 2), max_pool(NDIM, 3, 2, padding=1))


def strided_stem(in_channels: int, out_ch: int, small_input: bool, act_name: str = "relu") -> nn.Module:
    """The MobileNets' and EfficientNet's stem: a 3x3 stride-2 conv-norm-act, stride 1 for small
    inputs (their families' adaptation: "stem conv stride 2 becomes stride 1")."""
    return ConvNormAct(NDIM, in_channels, out_ch, 3, 1 if small_input else 2, act_name=act_name)


def pool_linear_head(in_features: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    """Global average pool, flatten, optional dropout, linear classifier."""
    layers: list[nn.Module] = [global_pool(NDIM), nn.Flatten(1)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


def has_values(model: nn.Module) -> bool:
    """False for a model built on the meta device, whose init would only cost time."""
    return not any(p.is_meta for p in model.parameters())


def init_conv_norm(model: nn.Module) -> None:
    """He (fan-out) init for convolutions with zero biases; norms start as the identity.

    The init torchvision's CNNs use; linear layers keep PyTorch's default unless a family
    re-initialises them.
    """
    if not has_values(model):
        return
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_linear_normal(model: nn.Module, std: float = 0.01) -> None:
    """N(0, std) weights and zero biases for every linear layer (VGG's and MobileNet's init)."""
    if not has_values(model):
        return
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
