"""The measure registry and ``measure``, the bundle of figures a leaderboard row reports."""

from __future__ import annotations

import pytest
import torch

from nasbench.errors import NasbenchError
from nasbench.measure import (
    MEASURES,
    Measurements,
    count_flops,
    count_params,
    get_measure,
    measure,
    receptive_field,
    register_measure,
)
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage

SHAPE = (3, 16, 16)


@pytest.fixture
def net() -> torch.nn.Module:
    arch = Architecture(stem_width=8, stages=(Stage("residual", 1, 8, downsample="stride"),
                                              Stage("inverted", 1, 16, expansion=2, se_ratio=0.25)))
    return build_network(arch, 3, 10)


def test_measure_bundles_every_figure(net: torch.nn.Module) -> None:
    m = measure(net, SHAPE)
    assert m.params == count_params(net)
    assert m.flops == count_flops(net, (1, *SHAPE))
    assert m.receptive_field == receptive_field(net, SHAPE) == 3 + 2 + 4 + 4
    assert m.latency_b1_ms > 0 and m.latency_b32_ms > 0
    assert m.threads == torch.get_num_threads()
    assert m.peak_memory_bytes > 0
    assert m.device == "cpu"
    assert set(m.to_dict()) == {"params", "flops", "receptive_field", "latency_b1_ms", "latency_b32_ms",
                                "threads", "peak_memory_bytes", "device"}


def test_runtime_figures_can_be_left_out(net: torch.nn.Module) -> None:
    m = measure(net, SHAPE, latency=False, memory=False)
    assert isinstance(m, Measurements)
    assert (m.latency_b1_ms, m.latency_b32_ms, m.threads, m.peak_memory_bytes, m.device) == (None,) * 5
    assert m.params > 0 and m.flops > 0 and m.receptive_field > 1


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_every_registered_measure_gives_a_positive_number(name: str, net: torch.nn.Module) -> None:
    assert get_measure(name)(net, SHAPE) > 0


def test_measure_names_are_unique_and_unknown_ones_list_the_choices() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_measure("flops", lambda model, shape: 0)
    with pytest.raises(NasbenchError, match="receptive_field"):
        get_measure("flop")
