"""Receptive field: hand-computed cases from the seed formulas, and checks against gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.errors import NasbenchError
from nasbench.measure import receptive_field, receptive_field_info
from nasbench.nn.blocks import BasicBlock, Bottleneck, DenseStage, InvertedResidual, SqueezeExcite
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def convs(ndim: int, *layers: tuple[int, int, int], ch: int = 2) -> nn.Sequential:
    """Convs given as (kernel, stride, dilation), 'same'-padded."""
    return nn.Sequential(*(CONV[ndim](ch, ch, k, stride=s, dilation=d, padding=d * (k - 1) // 2)
                           for k, s, d in layers))


# --- hand-computed ------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [1, 3, 5])
@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_stacked_convs_see_layers_times_kernel_minus_one_plus_one(layers: int, kernel: int) -> None:
    net = convs(2, *[(kernel, 1, 1)] * layers)
    assert receptive_field(net, (2, 64, 64)) == layers * (kernel - 1) + 1


@pytest.mark.parametrize("kernel,rate", [(3, 2), (3, 4), (5, 3)])
def test_dilated_conv_sees_k_plus_k_minus_one_times_r_minus_one(kernel: int, rate: int) -> None:
    assert receptive_field(convs(2, (kernel, 1, rate)), (2, 64, 64)) == kernel + (kernel - 1) * (rate - 1)


def test_a_stride_two_conv_doubles_what_the_next_conv_adds() -> None:
    info = receptive_field_info(convs(2, (3, 2, 1), (3, 1, 1)), (2, 32, 32))
    assert info.size == (3 + 2 * 2,) * 2
    assert info.jump == (2, 2)
    assert info.feature_shape == (16, 16)
    assert info.method == "fx"


def test_kernels_that_differ_per_dimension_give_one_field_per_dimension() -> None:
    net = nn.Sequential(nn.Conv2d(2, 2, (3, 5), dilation=(1, 2)), nn.Conv2d(2, 2, (1, 3), stride=(2, 1)),
                        nn.Conv2d(2, 2, 3))
    # height: 3, 3, then 3 at jump 2 -> 7; width: 5 dilated by 2 -> 9, +2 -> 11, +2 -> 13
    info = receptive_field_info(net, (2, 40, 40))
    assert info.size == (7, 13)
    assert info.jump == (2, 1)
    assert receptive_field(net, (2, 40, 40)) == 13


def test_pools_count_their_kernel_stride_and_dilation() -> None:
    net = nn.Sequential(nn.Conv2d(2, 2, 3), nn.MaxPool2d(3, stride=2, dilation=2),
                        nn.AvgPool2d(2), nn.Conv2d(2, 2, 3))
    # 3; max pool k_eff 5 at jump 1 -> 7, jump 2; avg pool 2 -> 9, jump 4; conv 3 -> 17
    assert receptive_field_info(net, (2, 64, 64)).size == (17, 17)


class Functional(nn.Module):
    """The same layers as functions rather than modules."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2, 2, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, stride=2, padding=1)
        x = F.max_pool2d(x, 3, 2, padding=1, dilation=1)
        x = F.avg_pool2d(x, kernel_size=2)
        return F.conv2d(F.relu(x), self.weight, dilation=2).mean((2, 3))


def test_functional_convs_and_pools_count_like_modules() -> None:
    # conv 3 (jump 2); max pool 3 -> 7 (jump 4); avg pool 2 -> 11 (jump 8); conv 3 dil 2 -> 11+4*8
    info = receptive_field_info(Functional(), (2, 128, 128))
    assert info.size == (43, 43)
    assert info.jump == (8, 8)


def test_a_residual_block_counts_its_longest_path_not_the_shortcut() -> None:
    block = BasicBlock(2, 4, 4, stride=1)
    assert receptive_field(block, (4, 32, 32)) == 5


def test_bottlenecks_count_the_strided_middle_conv_and_ignore_the_projection() -> None:
    net = nn.Sequential(Bottleneck(2, 8, 16, stride=2), Bottleneck(2, 16, 16))
    # 1x1, 3x3/2 -> 3 (jump 2); 1x1, 3x3 -> 3 + 2*2
    info = receptive_field_info(net, (8, 32, 32))
    assert info.size == (7, 7)
    assert info.jump == (2, 2)


def test_a_dense_stage_counts_every_layer_it_concatenates() -> None:
    stage = DenseStage(2, 8, 8, depth=3, growth=4, stride=2)
    # average pool 2 -> 2 (jump 2), then three 3x3 layers add 2*2 each
    assert receptive_field(stage, (8, 32, 32)) == 2 + 3 * 4


def test_a_squeeze_excite_gate_does_not_widen_the_field() -> None:
    net = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), SqueezeExcite(2, 8, 2), nn.Conv2d(8, 8, 3))
    info = receptive_field_info(net, (8, 32, 32))
    assert info.size == (5, 5)
    assert info.feature_shape == (30, 30)


class Inception(nn.Module):
    """GoogLeNet's module: parallel 1x1, 3x3, 5x5 and pooled branches, concatenated."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(ch, 2, 1)
        self.b3 = nn.Sequential(nn.Conv2d(ch, 2, 1), nn.Conv2d(2, 2, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(ch, 2, 1), nn.Conv2d(2, 2, 5, padding=2))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(ch, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


def test_concatenated_branches_see_as_far_as_the_widest() -> None:
    assert receptive_field(nn.Sequential(Inception(4), Inception(8)), (4, 32, 32)) == 9


@pytest.mark.parametrize("side,feature", [(56, (7, 7)), (16, (2, 2))])
def test_a_vgg_head_ends_at_its_adaptive_pool_whether_or_not_it_resizes(side: int, feature: tuple) -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1),
                        nn.MaxPool2d(2), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(),
                        nn.Linear(4 * 49, 10))
    # 3; pool -> 4 (jump 2); 3x3 -> 8; pool -> 10 (jump 4); pool -> 14 (jump 8)
    info = receptive_field_info(net, (3, side, side))
    assert info.size == (14, 14)
    assert info.feature_shape == feature


def test_inverted_residuals_count_the_depthwise_conv() -> None:
    net = nn.Sequential(InvertedResidual(2, 8, 8, kernel=5, se_ratio=0.25),
                        InvertedResidual(2, 8, 16, stride=2))
    assert receptive_field(net, (8, 32, 32)) == 5 + 2


def test_one_dimensional_convs() -> None:
    net = nn.Sequential(convs(1, (7, 2, 1), (3, 1, 2)), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                        nn.Linear(2, 3))
    # 7 (jump 2); k_eff 5 -> 7 + 4*2
    info = receptive_field_info(net, (2, 100))
    assert info.size == (15,)
    assert info.feature_shape == (50,)


def test_three_dimensional_convs_with_a_per_dimension_kernel() -> None:
    net = nn.Sequential(nn.Conv3d(1, 2, (1, 3, 3), stride=(1, 2, 2)), nn.Conv3d(2, 2, 3), nn.MaxPool3d(2))
    # depth: 1, 3, 4 ; height and width: 3 (jump 2), +4 = 7, +2 = 9
    assert receptive_field_info(net, (1, 8, 24, 24)).size == (4, 9, 9)


def resnet18_like() -> Architecture:
    """ResNet-18's layout in the search space (its stage-1 pooling is a 2x2 max pool)."""
    return Architecture(stem_width=64, stem_kernel=7, stem_stride=2, stages=(
        Stage("residual", 2, 64, downsample="pool"), Stage("residual", 2, 128, downsample="stride"),
        Stage("residual", 2, 256, downsample="stride"), Stage("residual", 2, 512, downsample="stride")))


def test_a_resnet18_shaped_network_sees_433_pixels() -> None:
    # stem 7 (jump 2); pool 2 -> 9 (jump 4); 4 convs -> 41; then per stage 3x3/2 and three 3x3:
    # 41 + 2*4 + 3*16 = 97, 97 + 2*8 + 3*32 = 209, 209 + 2*16 + 3*64 = 433
    info = receptive_field_info(build_network(resnet18_like(), 3, 1000), (3, 224, 224))
    assert info.size == (433, 433)
    assert info.jump == (32, 32)
    assert info.feature_shape == (7, 7)
    assert info.path[:2] == ("stem.0", "stages.0.0")


@pytest.mark.parametrize("ndim,shape", [(1, (3, 96)), (3, (3, 24, 24, 24))])
def test_built_networks_see_the_same_field_in_every_dimensionality(ndim: int, shape: tuple[int, ...]) -> None:
    arch = Architecture(stages=(Stage("residual", 1, 8, downsample="stride", se_ratio=0.25),
                                Stage("dense", 2, 8, growth=4, kernel=5, downsample="pool"),
                                Stage("inverted", 1, 16, dilation=2, expansion=2, downsample="stride")))
    in_2d = receptive_field_info(build_network(arch, 3, 10, 2), (3, 32, 32))
    in_nd = receptive_field_info(build_network(arch, 3, 10, ndim), shape)
    assert in_nd.size == (in_2d.size[0],) * ndim
    assert in_nd.jump == (in_2d.jump[0],) * ndim


class ChannelsLastBlock(nn.Module):
    """A ConvNeXt-style block: depthwise conv, then linear layers on channels-last features."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(ch, ch, 7, padding=3, groups=ch)
        self.norm = nn.LayerNorm(ch)
        self.fc1, self.fc2 = nn.Linear(ch, 4 * ch), nn.Linear(4 * ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dw(x).permute(0, 2, 3, 1))
        return x + self.fc2(F.gelu(self.fc1(y))).permute(0, 3, 1, 2)


def test_linear_layers_on_channels_last_features_keep_the_field() -> None:
    net = nn.Sequential(ChannelsLastBlock(8), ChannelsLastBlock(8))
    assert receptive_field_info(net, (8, 32, 32)).size == (13, 13)


class Shuffle(nn.Module):
    """ShuffleNet's channel shuffle around a grouped conv: views and transposes of channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w = x.size(0), x.size(2), x.size(3)
        x = x.view(n, 2, -1, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
        a, b = self.conv(x).chunk(2, dim=1)
        return torch.cat([a, self.conv(torch.cat([a, b], 1))[:, :4]], 1)


def test_reshapes_of_channels_and_splits_keep_the_field() -> None:
    assert receptive_field(Shuffle(), (8, 16, 16)) == 5


class WithOption(nn.Module):
    """A forward with an optional argument, as many zoo networks have."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 5)

    def forward(self, x: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
        return self.conv(x * scale).flatten(1)


def test_optional_forward_arguments_keep_their_defaults() -> None:
    info = receptive_field_info(WithOption(), (2, 16, 16))
    assert (info.size, info.feature_shape, info.method) == ((5, 5), (12, 12), "fx")


class DataDependent(nn.Module):
    """A residual block fx cannot trace: its loop count depends on the input's size."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(2, 2, 3, stride=2, padding=1)
        self.b = nn.Conv2d(2, 2, 3, padding=1)
        self.shortcut = nn.Conv2d(2, 2, 1, stride=2)
        self.c = nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(x.shape[-1] // 64):
            x = x * 1.0
        return self.c(self.b(self.a(x)) + self.shortcut(x)).mean((2, 3))


def test_models_fx_cannot_trace_fall_back_to_hooks() -> None:
    with pytest.warns(UserWarning, match="fx cannot trace"):
        info = receptive_field_info(DataDependent(), (2, 64, 64))
    # a 3 (jump 2), b -> 7, shortcut 1; after the add, c -> 7 + 2*2
    assert info.method == "hooks"
    assert info.size == (11, 11)


def test_upsampling_is_refused_with_the_layer_named() -> None:
    net = nn.Sequential(nn.Conv2d(2, 2, 3), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3))
    with pytest.raises(NasbenchError, match=r"1.*upsamples"):
        receptive_field(net, (2, 16, 16))


@pytest.mark.parametrize("shape", [(3,), (3, 0, 8), ()])
def test_a_bad_input_shape_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(NasbenchError, match="input_shape"):
        receptive_field(convs(2, (3, 1, 1)), shape)


def test_an_input_shape_with_a_batch_dimension_is_refused_with_the_convention() -> None:
    with pytest.raises(NasbenchError, match="one sample, channels first"):
        receptive_field(convs(2, (3, 1, 1)), (1, 2, 16, 16))


def test_the_model_is_left_untouched() -> None:
    net = build_network(resnet18_like(), 3, 10).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    receptive_field(net, (3, 64, 64))
    assert net.training
    assert all(v.device.type == "cpu" and torch.equal(v, before[k]) for k, v in net.state_dict().items())


# --- against gradients --------------------------------------------------------------------

def positive(model: nn.Module) -> nn.Module:
    """Every weight a positive average, no bias: no gradient path can cancel or vanish.

    Max pools become average pools of the same window: the field is the same, but a max pool
    sends its gradient to one input of the window only.
    """
    for name, child in model.named_children():
        if isinstance(child, nn.modules.pooling._MaxPoolNd):
            avg = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}
            setattr(model, name, avg[type(child)](child.kernel_size, child.stride, child.padding))
        else:
            positive(child)
    for p in model.parameters(recurse=False):
        p.data.fill_(1.0 / p[0].numel() if p.dim() > 1 else (1.0 if p.dim() == 1 else 0.0))
    for name, p in model.named_parameters(recurse=False):
        if name == "bias":
            p.data.zero_()
    return model.double().eval()


def gradient_extent(features: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per dim, the span of inputs with a non-zero gradient of the central output position."""
    x = (torch.rand((1, *input_shape), dtype=torch.float64) + 0.5).requires_grad_()
    y = features(x)
    centre = (0, slice(None), *(s // 2 for s in y.shape[2:]))
    y[centre].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    extents = []
    for d in range(hit.dim()):
        others = tuple(i for i in range(hit.dim()) if i != d)
        idx = (hit.any(others) if others else hit).nonzero()  # an empty dim list means all dims
        extents.append(int(idx.max() - idx.min() + 1))
    return tuple(extents)


def roomy(rf: int, jump: int, ndim: int, ch: int) -> tuple[int, ...]:
    """An input large enough that the centre's field lies inside it."""
    side = math.ceil((2 * rf + 2 * jump) / jump) * jump
    return (ch, *(side,) * ndim)


@pytest.mark.parametrize("layers", [
    [(3, 1, 1), (3, 2, 1), (3, 1, 2), (5, 1, 1)],
    [(7, 2, 1), (3, 2, 3), (1, 1, 1), (3, 1, 1)],
])
def test_plain_convs_match_their_gradient_extent(layers: list[tuple[int, int, int]]) -> None:
    net = positive(convs(2, *layers))
    info = receptive_field_info(net, (2, 64, 64))
    assert gradient_extent(net, roomy(info.max, info.jump[0], 2, 2)) == info.size


@pytest.mark.parametrize("stage", [
    Stage("residual", 2, 8, downsample="stride"),
    Stage("bottleneck", 2, 16, kernel=5, downsample="pool"),
    Stage("inverted", 2, 8, dilation=2, expansion=2, downsample="stride"),
    Stage("dense", 2, 8, growth=4, downsample="stride"),
    Stage("plain", 3, 8, kernel=5, downsample="pool"),
], ids=lambda s: s.block)
@pytest.mark.parametrize("ndim", [1, 2])
def test_built_networks_match_their_gradient_extent(stage: Stage, ndim: int) -> None:
    arch = Architecture(stem_width=8, stem_stride=2,
                        stages=(stage, Stage("residual", 1, 8, downsample="stride")))
    net = positive(build_network(arch, 2, 10, ndim))
    info = receptive_field_info(net, (2, *(64,) * ndim))
    extent = gradient_extent(nn.Sequential(net.stem, net.stages), roomy(info.max, info.jump[0], ndim, 2))
    assert extent == info.size


def test_a_3d_network_matches_its_gradient_extent() -> None:
    arch = Architecture(stem_width=4, stages=(Stage("residual", 1, 4, downsample="stride"),
                                              Stage("plain", 1, 4, dilation=2)))
    net = positive(build_network(arch, 1, 10, 3))
    info = receptive_field_info(net, (1, 16, 16, 16))
    assert info.size == (3 + 2 + 4 + 8,) * 3
    extent = gradient_extent(nn.Sequential(net.stem, net.stages), roomy(info.max, info.jump[0], 3, 1))
    assert extent == info.size
