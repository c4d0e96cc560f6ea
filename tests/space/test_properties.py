"""Properties of every shipped space, in every dimensionality it allows: any sampled
architecture the feasibility check accepts builds, runs a forward and a backward pass, and its
measured params and FLOPs are those of the network as built."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from nasbench.measure.counts import count_flops
from nasbench.measure.preview import figures
from nasbench.nn.builder import build_network
from nasbench.space.sample import infeasibility, sample_architecture
from tests.space.helpers import SPACES, DrawTrial, shipped

SMALL = {1: 32, 2: 16, 3: 8}  # side of the input tried first
LARGEST = {1: 64, 2: 32, 3: 16}  # side tried last (bounds the cost of 3D passes)
# Above this many parameters the passes run on the meta device (shapes and autograd graph,
# no arithmetic): a few 3D samples of resnet_like and full reach 10^8 parameters.
REAL_MAX_PARAMS = 8_000_000
CASES = [(name, ndim) for name in SPACES for ndim in shipped(name).ndim]


def smallest_feasible(arch, ndim: int) -> tuple[int, ...] | None:
    """The smallest input from SMALL up that the feasibility check accepts: the hardest case,
    since the last feature maps are as small as the check allows."""
    for side in range(SMALL[ndim], LARGEST[ndim] + 1):
        if infeasibility(arch, (side,) * ndim) is None:
            return (side,) * ndim
    return None


@pytest.mark.slow
@pytest.mark.parametrize("name,ndim", CASES)
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_any_feasible_sample_builds_and_runs_forward_and_backward(name: str, ndim: int,
                                                                  data: st.DataObject) -> None:
    # The resolution tells the data module how to resize inputs; the network is the same at any
    # input size, so the passes run at the smallest size the feasibility check accepts.
    arch = replace(sample_architecture(DrawTrial(data), shipped(name)), resolution=None)
    note(arch.summary())
    size = smallest_feasible(arch, ndim)
    assume(size is not None)
    params, flops = figures(arch, (3, *size))
    device = "cpu" if params <= REAL_MAX_PARAMS else "meta"
    with torch.device(device):
        net = build_network(arch, 3, 10, ndim)
    out = net(torch.randn(2, 3, *size, device=device))
    assert out.shape == (2, 10)
    out.logsumexp(1).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == params
    if device == "cpu":
        assert torch.isfinite(out).all()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters())
        assert count_flops(net, (1, 3, *size)) == flops
