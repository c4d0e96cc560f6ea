"""LeNet-5 as LeCun et al. (1998, "Gradient-based learning applied to document recognition",
section II.B) define it: 32x32 input, C1-S2-C3-S4-C5-F6 with the scaled tanh squashing function,
trainable subsampling layers, C3's partial connection table (Table I) and the RBF output layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.nn.layers import conv
from nasbench.zoo.common import NDIM, ZooNet, has_values
from nasbench.zoo.registry import Family, register_model

FAMILY = Family(
    "LeNet",
    "C1 gets 2 pixels of zero padding (28x28 inputs give the paper's 28x28 C1 "
    "maps, as its authors padded MNIST to 32x32) and C5's maps are averaged to 1x1 "
    "before F6 (32x32 inputs then work too)",
)


def _s2_maps(first: int, offsets: tuple[int, ...]) -> tuple[int, ...]:
    """The S2 maps ``first + offset`` (modulo S2's 6 maps), in increasing order."""
    return tuple(sorted((first + offset) % 6 for offset in offsets))


# Which S2 maps each of C3's 16 maps sees (Table I), as section II.B describes it: every contiguous
# triple, every contiguous quadruple, 3 discontinuous quadruples, then all six. Breaking symmetry
# was the point.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    *(_s2_maps(i, (0, 1, 2)) for i in range(6)),
    *(_s2_maps(i, (0, 1, 2, 3)) for i in range(6)),
    *(_s2_maps(i, (0, 1, 3, 4)) for i in range(3)),
    tuple(range(6)),
)


@dataclass(frozen=True)
class LeNetConfig:
    c1: int = 6
    c3_table: tuple[tuple[int, ...], ...] = C3_TABLE
    c5: int = 120
    f6: int = 84
    kernel: int = 5


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = 1.7159 tanh(2a/3) (Appendix A)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """S2/S4: each map's 2x2 sums times a trainable coefficient plus a trainable bias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summed = F.avg_pool2d(x, 2) * 4
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv(nn.Module):
    """A convolution whose output maps each see only the input maps a connection table lists.

    Maps with the same number of inputs form one grouped convolution over the gathered inputs,
    so the weights are exactly those of the table (1,516 for C3), not of a masked full conv.
    """

    index: torch.Tensor  # a buffer: the input maps gathered, group after group

    def __init__(self, table: tuple[tuple[int, ...], ...], kernel: int) -> None:
        super().__init__()
        sizes = sorted({len(row) for row in table})
        order = [i for size in sizes for i, row in enumerate(table) if len(row) == size]
        if order != list(range(len(table))):
            raise ValueError("connection-table rows must be grouped by size in increasing order")
        groups = [[row for row in table if len(row) == size] for size in sizes]
        index = torch.tensor([i for rows in groups for row in rows for i in row], dtype=torch.long)
        self.register_buffer("index", index, persistent=False)
        self.split_sizes = [len(rows[0]) * len(rows) for rows in groups]
        self.convs = nn.ModuleList(
            conv(NDIM, len(rows[0]) * len(rows), len(rows), kernel, groups=len(rows), bias=True, padding=0)
            for rows in groups
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gathered = x.index_select(1, self.index).split(self.split_sizes, dim=1)
        return torch.cat([c(gathered[i]) for i, c in enumerate(self.convs)], 1)


class RBFOutput(nn.Module):
    """Euclidean RBF units: y_i = sum_j (x_j - w_ij)^2; the logits are -y (smaller = closer).

    The paper's cross-entropy-like criterion (eq. 9) on penalties y is cross-entropy on -y.
    Its centres were hand-drawn +-1 bitmaps; we start from random +-1 codes instead.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.centres = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.uniform_(self.centres, -1.0, 1.0)
        with torch.no_grad():
            self.centres.copy_(torch.where(self.centres >= 0, 1.0, -1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -(x.unsqueeze(1) - self.centres).pow(2).sum(-1)


def _init_fan_in(model: nn.Module) -> None:
    """Weights uniform in +-2.4 / fan-in, as the paper initialised them (Appendix A)."""
    if not has_values(model):
        return
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            nn.init.uniform_(m.weight, -2.4 / fan_in, 2.4 / fan_in)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, Subsampling):  # each unit sums 4 inputs
            nn.init.uniform_(m.weight, -0.6, 0.6)


def build_lenet(cfg: LeNetConfig, num_classes: int, in_channels: int, small_input: bool) -> ZooNet:
    c3 = len(cfg.c3_table)
    stem = nn.Sequential(
        conv(NDIM, in_channels, cfg.c1, cfg.kernel, bias=True, padding=2 if small_input else 0), ScaledTanh()
    )
    body = nn.Sequential(
        Subsampling(cfg.c1),
        ScaledTanh(),
        PartialConv(cfg.c3_table, cfg.kernel),
        ScaledTanh(),
        Subsampling(c3),
        ScaledTanh(),
        conv(NDIM, c3, cfg.c5, cfg.kernel, bias=True, padding=0),
        ScaledTanh(),
    )
    head = nn.Sequential(
        *([nn.AdaptiveAvgPool2d(1)] if small_input else []),
        nn.Flatten(1),
        nn.Linear(cfg.c5, cfg.f6),
        ScaledTanh(),
        RBFOutput(cfg.f6, num_classes),
    )
    model = ZooNet(stem, body, head)
    _init_fan_in(model)
    return model


@register_model(FAMILY, resolution=32, documented="LeNet-5", in_channels=1, num_classes=10)
def lenet5(**kwargs: Any) -> nn.Module:
    return build_lenet(LeNetConfig(), **kwargs)
