"""The architecture notation: every summary reads back as the same architecture; bad strings are
refused in one line that names the token at fault."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench.errors import ConfigError
from nasbench.space.notation import parse_architecture
from nasbench.space.sample import RandomTrial, sample_architecture
from tests.space.helpers import SPACES, shipped
from tests.space.test_architecture import ARCH


@pytest.mark.parametrize("name", SPACES)
def test_every_sampled_architecture_reads_back_from_its_summary(name: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        arch = sample_architecture(RandomTrial(rng), shipped(name))
        again = parse_architecture(arch.summary())
        assert again == arch, arch.summary()
        assert again.summary() == arch.summary()


def test_every_field_of_the_notation_reads_back() -> None:
    assert (
        ARCH.summary()
        == "s24k5/2 > res2x32k3se.25 > inv1x64k5e6/2 > dense3x96k3d2g12/p > se1x128k3 > silu gn head128 drop0.2 32px"
    )
    assert parse_architecture(ARCH.summary()) == ARCH
    assert parse_architecture("s8 > se1x16k3se.5 > relu bn").stages[0].se_ratio == 0.5


def test_a_hand_written_network() -> None:
    arch = parse_architecture("s32 > conv1x32k5 > conv1x64k5/2 > conv1x64k3/2 > conv1x128k3/2 > relu bn")
    assert [(s.block, s.width, s.kernel, s.downsample) for s in arch.stages] == [
        ("plain", 32, 5, "none"),
        ("plain", 64, 5, "stride"),
        ("plain", 64, 3, "stride"),
        ("plain", 128, 3, "stride"),
    ]
    assert (arch.stem_width, arch.activation, arch.norm) == (32, "relu", "batch")


@pytest.mark.parametrize(
    "text,token",
    [
        ("s16 > res2x32k3 > relu bm", "'bm'"),
        ("s16 > resx32k3 > relu bn", "'resx32k3'"),
        ("s16 > res2x32k4 > relu bn", "'res2x32k4'"),  # even kernel
        ("x16 > res2x32k3 > relu bn", "'x16'"),
        ("s16 > res2x32k3 > tanh bn", "'tanh'"),
        ("s16 > res2x32k3 > relu bn 32px 32px", "'32px'"),
        ("s16 > conv1x8k3/3 > relu bn", "'conv1x8k3/3'"),
    ],
)
def test_a_bad_string_is_refused_in_one_line_naming_the_token(text: str, token: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_architecture(text)
    message = str(e.value)
    assert "\n" not in message
    assert token in message, message


def test_a_string_without_stages_or_tail_says_what_is_expected() -> None:
    with pytest.raises(ConfigError, match="joined by ' > '"):
        parse_architecture("resnet18")
