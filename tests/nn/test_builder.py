"""The builder: every block type in every dimensionality from one set of blocks, exact
feature-map sizes, and the seeds' formulas for parameters and receptive fields."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasbench.measure import count_params, receptive_field
from nasbench.nn.blocks import BasicBlock, Bottleneck, DenseStage, InvertedResidual, PlainBlock, SqueezeExcite
from nasbench.nn.builder import build_network
from nasbench.nn.layers import conv
from nasbench.space.architecture import Architecture, Stage
from nasbench.space.sample import infeasibility

BLOCK_CLASS = {"plain": PlainBlock, "se": PlainBlock, "residual": BasicBlock, "bottleneck": Bottleneck,
               "inverted": InvertedResidual, "dense": DenseStage}
OPTIONS = {"inverted": {"expansion": 3}, "dense": {"growth": 4}}


def two_stages(block: str, se_ratio: float | None = None) -> Architecture:
    """Stride-downsampled then pool-downsampled stages of ``block``, with every option set."""
    opts = {**OPTIONS.get(block, {}), "se_ratio": se_ratio}
    return Architecture(stem_width=8, activation="hswish", norm="group", stages=(
        Stage(block, 2, 16, dilation=2, downsample="stride", **opts),
        Stage(block, 1, 24, kernel=5, downsample="pool", **opts)))


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("block", sorted(BLOCK_CLASS))
def test_every_block_type_builds_and_trains_in_every_dimensionality(block: str, ndim: int) -> None:
    arch = two_stages(block)
    net = build_network(arch, in_channels=3, num_classes=7, ndim=ndim)
    x = torch.randn(2, 3, *(11,) * ndim)
    assert infeasibility(arch, x.shape[2:]) is None
    features = net.stages(net.stem(x))
    # 11 -> strided conv: ceil(11/2) = 6 -> pool: 3; a dense stage average-pools both: 5 -> 2.
    expected = 3 if block != "dense" else 2
    assert features.shape == (2, 24, *(expected,) * ndim)
    out = net(x)
    assert out.shape == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert any(isinstance(m, BLOCK_CLASS[block]) for m in net.stages.modules())
    conv_type = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[ndim]
    assert all(type(m) is conv_type for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd))


@pytest.mark.parametrize("block", ["residual", "bottleneck", "inverted"])
def test_se_is_an_option_on_residual_bottleneck_and_inverted_blocks(block: str) -> None:
    without = build_network(two_stages(block), 3, 10, 2)
    with_se = build_network(two_stages(block, se_ratio=0.25), 3, 10, 2)
    assert not any(isinstance(m, SqueezeExcite) for m in without.modules())
    assert sum(isinstance(m, SqueezeExcite) for m in with_se.modules()) == 3  # one per block


def test_the_se_block_is_a_conv_followed_by_squeeze_and_excitation() -> None:
    net = build_network(Architecture(stages=(Stage("se", 1, 32, se_ratio=0.125),), stem_width=16), 3, 10, 2)
    se = next(m for m in net.modules() if isinstance(m, SqueezeExcite))
    assert se.reduce.out_channels == 4  # 32 * 0.125


def test_inverted_blocks_are_depthwise_with_the_expansion_ratio() -> None:
    net = build_network(Architecture(stem_width=16, stages=(Stage("inverted", 1, 24, expansion=6),)), 3, 10, 2)
    block = next(m for m in net.modules() if isinstance(m, InvertedResidual))
    depthwise = block.depthwise[0]
    assert depthwise.in_channels == depthwise.out_channels == depthwise.groups == 16 * 6


def test_dense_stages_grow_by_their_growth_rate_then_transition_to_the_width() -> None:
    net = build_network(Architecture(stem_width=16, stages=(Stage("dense", 3, 20, growth=8),)), 3, 10, 2)
    dense = next(m for m in net.modules() if isinstance(m, DenseStage))
    assert dense.transition[2].in_channels == 16 + 3 * 8 and dense.transition[2].out_channels == 20


def test_the_head_has_an_optional_conv_and_dropout_before_the_classifier() -> None:
    bare = Architecture(stages=(Stage("plain", 1, 32),), stem_width=16)
    headed = Architecture(stages=(Stage("plain", 1, 32),), stem_width=16, head_width=64, head_dropout=0.3)
    a, b = build_network(bare, 3, 10, 2), build_network(headed, 3, 10, 2)
    # 1x1 conv (bias-free) 32 -> 64 + its norm (2 x 64), and a classifier from 64 instead of 32.
    assert count_params(b) - count_params(a) == 32 * 64 + 2 * 64 + (64 - 32) * 10
    assert isinstance(b.dropout, nn.Dropout) and b.dropout.p == 0.3
    assert isinstance(a.dropout, nn.Identity)


# --- the seeds' formulas -------------------------------------------------------------------------

@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("k_out,f,c", [(64, 3, 3), (10, 5, 16), (1, 1, 1)])
def test_a_standard_conv_has_k_times_f_f_c_plus_one_params(ndim: int, k_out: int, f: int, c: int) -> None:
    # K x (F x F x C + 1) in 2D; F^ndim taps in general.
    assert count_params(conv(ndim, c, k_out, f, bias=True)) == k_out * (f ** ndim * c + 1)


@pytest.mark.parametrize("c,k_out,f", [(32, 64, 3), (16, 24, 5), (256, 256, 3)])
def test_a_depthwise_separable_conv_has_c_f_f_plus_k_c_params(c: int, k_out: int, f: int) -> None:
    # An inverted block of expansion 1 is a depthwise separable conv (bias-free, as built),
    # plus its two norms (2 x C and 2 x K).
    net = build_network(Architecture(stem_width=c, stages=(Stage("inverted", 1, k_out, kernel=f, expansion=1),)),
                        3, 10, 2)
    block = next(m for m in net.modules() if isinstance(m, InvertedResidual))
    conv_params = sum(count_params(m) for m in block.modules() if isinstance(m, nn.Conv2d))
    assert conv_params == c * f * f + k_out * c
    assert count_params(block) == c * f * f + k_out * c + 2 * c + 2 * k_out
    assert conv_params < k_out * f * f * c  # the standard conv's, bias-free


def test_depthwise_separable_is_roughly_nine_times_cheaper_for_3x3_256_to_256() -> None:
    # The seed: "uses roughly 9 times fewer parameters" for 256 -> 256 channels at 3x3.
    standard = count_params(conv(2, 256, 256, 3))
    separable = count_params(conv(2, 256, 256, 3, groups=256)) + count_params(conv(2, 256, 256, 1))
    assert 8 < standard / separable < 9


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("layers,f", [(1, 3), (3, 3), (4, 5), (2, 7)])
def test_stacked_stride_one_convs_see_l_times_f_minus_one_plus_one(ndim: int, layers: int, f: int) -> None:
    # A 1x1 stem, then ``layers`` plain stages of one FxF conv each, nothing strided.
    arch = Architecture(stem_width=4, stem_kernel=1,
                        stages=tuple(Stage("plain", 1, 4, kernel=f) for _ in range(layers)))
    net = build_network(arch, 1, 2, ndim)
    assert receptive_field(net, (1, *(48,) * ndim)) == layers * (f - 1) + 1


@pytest.mark.parametrize("k,r", [(3, 1), (3, 2), (3, 4), (5, 2), (7, 3)])
def test_a_dilated_conv_sees_k_plus_k_minus_one_times_r_minus_one(k: int, r: int) -> None:
    arch = Architecture(stem_width=4, stem_kernel=1, stages=(Stage("plain", 1, 4, kernel=k, dilation=r),))
    net = build_network(arch, 1, 2, 1)
    assert receptive_field(net, (1, 64)) == k + (k - 1) * (r - 1)


@pytest.mark.parametrize("width", [2, 8, 16, 32, 48, 64, 96])
def test_group_norm_runs_on_a_single_position_at_batch_one(width: int) -> None:
    # A network narrowed to one position by its last stage: each GroupNorm still sees more
    # than one value, so a single sample (latency, inference) goes through.
    arch = Architecture(stem_width=width, norm="group", stages=(
        Stage("residual", 1, width, downsample="stride"),
        Stage("inverted", 1, width, expansion=1, downsample="stride")))
    net = build_network(arch, 1, 3, 2).eval()
    assert infeasibility(arch, (4, 4)) is None
    groups = {m.num_groups: m.num_channels for m in net.modules() if isinstance(m, nn.GroupNorm)}
    assert all(channels // g >= 2 for g, channels in groups.items())
    with torch.no_grad():
        assert torch.isfinite(net(torch.randn(1, 1, 4, 4))).all()
