"""The supernet: every path is the stand-alone network built from the same weights, for every block
type in 1D, 2D and 3D; its slices are the leading channels and the kernel's centre; gradients reach
only what a path uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench.nn.supernet import Supernet, calibrate_bn, path_parameters, supernet_refusal
from nasbench.space.architecture import BLOCK_TYPES
from nasbench.space.sample import RandomTrial, infeasibility, sample_architecture
from nasbench.space.spec import parse_space

SIZES = {1: (16,), 2: (12, 12), 3: (8, 8, 8)}


def space_of(block: str, ndim: int):
    return parse_space(
        {
            "name": f"{block}{ndim}d",
            "ndim": [ndim],
            "num_stages": [1, 2],
            "stem": {"width": [8, 12], "kernel": [3, 5]},
            "stage": {
                "block": [block],
                "depth": [1, 2],
                "kernel": [3, 5],
                "dilation": [1, 2],
                "downsample": ["none", "stride", "pool"],
                "expansion": [2, 4],
                "se": [0, 0.25],
                "growth": [4, 8],
            },
            "stages": [{"width": [8, 16]}, {"width": [16, 24]}],
            "activation": ["relu", "silu"],
            "norm": ["batch", "group"],
            "head": {"width": [0, 32], "dropout": [0.0, 0.2]},
        }
    )


def paths(space, size, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < n:
        arch = sample_architecture(RandomTrial(rng), space)
        if infeasibility(arch, size) is None:
            found.append(arch)
    return found


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("block", BLOCK_TYPES)
def test_every_path_is_the_standalone_network_built_from_the_same_weights(block, ndim):
    torch.manual_seed(0)
    space = space_of(block, ndim)
    supernet = Supernet(space, 2, 5, ndim).eval()
    x = torch.randn(3, 2, *SIZES[ndim])
    archs = paths(space, SIZES[ndim], 6)
    assert {a.stages[0].block for a in archs} == {block}
    for arch in archs:
        assert supernet.uncovered(arch) is None
        net = supernet.extract(arch)
        net.eval()
        for m in net.modules():  # the path normalises by batch statistics: so must the network here
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.train()
        with torch.no_grad():
            assert torch.allclose(supernet.path_forward(arch, x), net(x), atol=1e-6), arch.summary()
        # The stand-alone network's weights are the supernet's slices, not copies of other values.
        for name, key, p, _ in path_parameters(arch, net):
            shared = supernet.shared(key)
            assert all(a <= b for a, b in zip(p.shape, shared.shape, strict=True)), name


def test_a_path_inherits_the_leading_channels_and_the_centre_of_the_largest_kernel():
    space = space_of("plain", 2)
    supernet = Supernet(space, 2, 5, 2)
    arch = next(a for a in paths(space, (12, 12), 50) if a.stages[0].kernel == 3 and a.stages[0].width == 8)
    net = supernet.extract(arch)
    first = 1 if arch.stages[0].downsample == "pool" else 0  # a max-pool comes first
    small = dict(net.named_parameters())[f"stages.0.{first}.conv.0.weight"]
    big = supernet.shared("s0.b0.plain.conv.0.weight")
    assert big.shape[2:] == (5, 5) and small.shape[2:] == (3, 3)
    assert torch.equal(small, big[:8, : small.shape[1], 1:4, 1:4].detach())


def test_training_a_path_moves_only_the_weights_it_uses():
    space = space_of("residual", 1)
    supernet = Supernet(space, 2, 5, 1).train()
    arch = next(a for a in paths(space, (16,), 50) if len(a.stages) == 1 and a.stages[0].width == 8)
    loss = supernet.path_forward(arch, torch.randn(4, 2, 16)).square().mean()
    loss.backward()
    used = {key for _, key, _, _ in path_parameters(arch, supernet.extract(arch))}
    for key in supernet.shapes:
        grad = supernet.shared(key).grad
        if key not in used:
            assert grad is None or not grad.any(), key  # another block type, stage or classifier
    stage_weight = supernet.shared("s0.b0.residual.conv1.0.weight")
    assert stage_weight.grad[:8].abs().sum() > 0 and not stage_weight.grad[8:].any()  # channels 8.. unused


def test_batchnorm_recalibration_estimates_the_path_statistics():
    space = space_of("plain", 1)
    supernet = Supernet(space, 2, 5, 1)
    arch = next(a for a in paths(space, (16,), 20) if a.norm == "batch")
    net = supernet.extract(arch)
    batches = [torch.randn(8, 2, 16) * 3 + 1 for _ in range(4)]
    assert calibrate_bn(net, batches) == 4
    stem_bn = net.stem[1]
    assert isinstance(stem_bn, torch.nn.BatchNorm1d)
    with torch.no_grad():
        conv_out = torch.cat([net.stem[0](b) for b in batches])
    assert torch.allclose(stem_bn.running_mean, conv_out.mean(dim=(0, 2)), atol=1e-4)  # exact average
    assert not net.training


def test_a_space_choosing_the_input_resolution_is_refused():
    space = parse_space({"name": "res", "ndim": [2], "resolution": [None, 16], "num_stages": [1, 2]})
    reason = supernet_refusal(space)
    assert reason is not None and "resolution" in reason
    with pytest.raises(ValueError, match="resolution"):
        Supernet(space, 1, 10, 2)


def test_an_architecture_wider_than_the_space_is_not_a_path():
    small, wide = space_of("plain", 1), space_of("inverted", 1)
    supernet = Supernet(small, 2, 5, 1)
    arch = paths(wide, (16,), 1)[0]
    assert "outside the supernet" in supernet.uncovered(arch)


def test_a_few_shot_supernet_keeps_paths_with_another_first_block_apart():
    space = parse_space(
        {"name": "two", "ndim": [1], "num_stages": [1, 2], "stage": {"block": ["plain", "residual"], "kernel": [3, 5]},
         "stages": [{"width": [8, 16]}, {"width": [16]}]}
    )
    supernet = Supernet(space, 2, 5, 1, few_shot=True).train()
    plain = next(a for a in paths(space, (16,), 50) if a.stages[0].block == "plain")
    supernet.path_forward(plain, torch.randn(4, 2, 16)).square().mean().backward()
    touched = {k for k in supernet.shapes if supernet.shared(k).grad is not None and supernet.shared(k).grad.any()}
    assert touched and all(k.startswith("plain|") for k in touched)
    # Still the stand-alone network of the same weights.
    net = supernet.extract(plain).train()
    x = torch.randn(4, 2, 16)
    with torch.no_grad():
        assert torch.allclose(supernet.path_forward(plain, x), net(x), atol=1e-6)
