"""Figures of an architecture before training: for the input the network actually sees."""

from __future__ import annotations

import pytest

from nasbench.errors import ConfigError
from nasbench.measure.counts import count_flops, count_params
from nasbench.measure.preview import figures, parse_input, preview, sample_previews
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage
from tests.space.helpers import shipped

ARCH = Architecture(stem_width=8, norm="group", activation="gelu", head_width=32, stages=(
    Stage("residual", 1, 16, se_ratio=0.25), Stage("dense", 2, 24, growth=8, downsample="stride"),
    Stage("inverted", 1, 32, expansion=3, kernel=5, downsample="stride")))


@pytest.mark.parametrize("shape", [(1, 40), (3, 28, 28), (2, 10, 12, 8)])
def test_figures_are_those_of_the_network_as_built(shape: tuple[int, ...]) -> None:
    net = build_network(ARCH, shape[0], 10, len(shape) - 1)
    assert figures(ARCH, shape) == (count_params(net), count_flops(net, (1, *shape)))


def test_an_architecture_with_a_resolution_is_measured_and_checked_at_it() -> None:
    at16 = Architecture(stages=ARCH.stages, stem_width=8, resolution=16)
    net = build_network(at16, 1, 10, 2)
    assert preview(at16, (1, 28, 28)).flops == count_flops(net, (1, 1, 16, 16))
    tiny = Architecture(stages=ARCH.stages, stem_width=8, resolution=2)
    assert preview(tiny, (1, 28, 28)).infeasible.startswith("input size 2 is too small")


def test_sample_previews_are_seeded_and_marked() -> None:
    first = sample_previews(shipped("full"), 6, (1, 28, 28), seed=4)
    assert [p.arch for p in first] == [p.arch for p in sample_previews(shipped("full"), 6, (1, 28, 28), seed=4)]
    for p in first:
        assert (p.infeasible is None) == (p.params is not None and p.flops is not None)


@pytest.mark.parametrize("text,shape", [("1x40", (1, 40)), ("3x32x32", (3, 32, 32)), ("1X8x8x8", (1, 8, 8, 8))])
def test_input_shapes_parse(text: str, shape: tuple[int, ...]) -> None:
    assert parse_input(text) == shape


@pytest.mark.parametrize("text", ["28", "1x0x5", "1x2x3x4x5", "ax28"])
def test_bad_input_shapes_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=f"input '{text}': give channels then 1-3 positive spatial sizes"):
        parse_input(text)
