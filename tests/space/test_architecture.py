"""The Architecture value: canonical form, JSON round-trip, digest, summary, bad values."""

from __future__ import annotations

import json
import random

import pytest

from nasbench.errors import ConfigError
from nasbench.space.architecture import Architecture, Stage

ARCH = Architecture(
    stem_width=24, stem_kernel=5, stem_stride=2, activation="silu", norm="group", head_dropout=0.2,
    head_width=128, resolution=32,
    stages=(Stage("residual", 2, 32, se_ratio=0.25), Stage("inverted", 1, 64, kernel=5, downsample="stride",
                                                           expansion=6),
            Stage("dense", 3, 96, dilation=2, downsample="pool", growth=12), Stage("se", 1, 128)),
)


def test_json_round_trip_keeps_the_value_and_its_digest() -> None:
    again = Architecture.from_json(ARCH.to_json())
    assert again == ARCH
    assert again.digest() == ARCH.digest()


def test_the_digest_ignores_the_order_of_the_json_keys() -> None:
    d = json.loads(ARCH.to_json())
    keys = list(d)
    random.Random(0).shuffle(keys)
    shuffled = {k: d[k] for k in keys}
    shuffled["stages"] = [dict(reversed(list(s.items()))) for s in d["stages"]]
    assert Architecture.from_dict(shuffled).digest() == ARCH.digest()


@pytest.mark.parametrize("block,present", [
    ("plain", {"expansion": 6, "growth": 12, "se_ratio": 0.25}),
    ("residual", {"expansion": 6, "growth": 12}),
    ("bottleneck", {"expansion": 4, "growth": 24}),
    ("inverted", {"growth": 12}),
    ("dense", {"expansion": 6, "se_ratio": 0.25}),
])
def test_a_choice_that_does_not_apply_does_not_change_the_digest(block: str, present: dict) -> None:
    bare = Architecture(stages=(Stage(block, 1, 16),))
    with_extra = Architecture(stages=(Stage(block, 1, 16, **present),))
    assert with_extra == bare
    assert with_extra.digest() == bare.digest()


def test_choices_that_build_the_same_network_hash_equal() -> None:
    # SE ratio 0 is no SE; an se block always has SE (0.25 unless chosen); dense stages pool.
    assert Stage("residual", 1, 16, se_ratio=0.0) == Stage("residual", 1, 16)
    assert Stage("se", 1, 16) == Stage("se", 1, 16, se_ratio=0.25) == Stage("se", 1, 16, se_ratio=0)
    assert Stage("dense", 1, 16, downsample="stride", growth=8) == Stage("dense", 1, 16, downsample="pool", growth=8)
    assert Architecture(stages=(Stage("plain", 1, 8),), activation="swish") == \
        Architecture(stages=(Stage("plain", 1, 8),), activation="silu")
    assert Architecture(stages=(Stage("plain", 1, 8),), head_dropout=0).digest() == \
        Architecture(stages=(Stage("plain", 1, 8),), head_dropout=0.0).digest()


def test_choices_that_change_the_network_change_the_digest() -> None:
    base = Stage("inverted", 1, 16, expansion=6)
    variants = [Stage("inverted", 1, 16, expansion=3), Stage("inverted", 2, 16, expansion=6),
                Stage("inverted", 1, 16, kernel=5, expansion=6), Stage("inverted", 1, 16, expansion=6, se_ratio=0.25),
                Stage("inverted", 1, 16, downsample="pool", expansion=6),
                Stage("inverted", 1, 16, downsample="stride", expansion=6)]
    digests = {Architecture(stages=(s,)).digest() for s in [base, *variants]}
    assert len(digests) == len(variants) + 1


def test_summary_names_every_stage_and_the_global_choices() -> None:
    assert ARCH.summary() == ("s24k5/2 > res2x32k3se.25 > inv1x64k5e6/2 > dense3x96k3d2g12/p > se1x128k3 > "
                              "silu gn head128 drop0.2 32px")


@pytest.mark.parametrize("make,field", [
    (lambda: Stage("conv", 1, 16), "'block'"),
    (lambda: Stage("plain", 1, -8), "'width'"),
    (lambda: Stage("plain", -1, 8), "'depth'"),
    (lambda: Stage("plain", 1, 8, kernel=4), "'kernel'"),
    (lambda: Stage("plain", 1, 8, dilation=0), "'dilation'"),
    (lambda: Stage("plain", 1, 8, downsample="maxpool"), "'downsample'"),
    (lambda: Stage("residual", 1, 8, se_ratio=2.0), "'se_ratio'"),
    (lambda: Stage("plain", 1, 8.5), "'width'"),
    (lambda: Architecture(stages=(), activation="tanh"), "'activation'"),
    (lambda: Architecture(stages=(), norm="layer"), "'norm'"),
    (lambda: Architecture(stages=(), stem_kernel=2), "'stem_kernel'"),
    (lambda: Architecture(stages=(), head_dropout=1.0), "'head_dropout'"),
    (lambda: Architecture.from_dict({"stages": [], "stem_widht": 8}), "stem_widht"),
])
def test_a_bad_value_is_one_sentence_naming_the_field(make, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        make()
    message = str(e.value)
    assert field in message
    assert "\n" not in message and message.endswith(".")
