"""Documented networks as points of the shipped spaces: membership proved by replay, and
parameter counts equal to the documented figures and to the zoo's networks."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench.errors import ConfigError
from nasbench.measure.counts import count_flops, count_params
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Stage
from nasbench.space.baselines import BASELINES, get_baseline, resnet18, se_resnet18, space_contains
from nasbench.space.sample import sample_architecture
from nasbench.zoo.registry import create_model
from tests.space.helpers import SPACES, DrawTrial, shipped

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_is_a_point_of_its_space_and_of_no_other(name: str) -> None:
    home = BASELINES[name][1]
    arch = get_baseline(name)
    assert space_contains(shipped(home), arch)
    assert [s for s in SPACES if s != home and space_contains(shipped(s), arch)] == []


def test_a_changed_baseline_is_no_longer_in_the_space() -> None:
    spec = shipped("resnet_like")
    base = resnet18()
    deeper = replace(base, stages=(*base.stages[:3], Stage("residual", 5, 512, downsample="stride")))
    wider = replace(base, stem_width=48)
    mixed_kernels = replace(base, stages=(Stage("residual", 2, 64, kernel=5), *base.stages[1:]))  # kernel is shared
    assert not any(space_contains(spec, a) for a in (deeper, wider, mixed_kernels))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(SPACES), st.data())
def test_every_sample_of_a_space_is_proved_to_be_in_it(name: str, data: st.DataObject) -> None:
    spec = shipped(name)
    assert space_contains(spec, sample_architecture(DrawTrial(data), spec))


def test_width_multiplied_samples_are_recognised() -> None:
    spec = shipped("mobile")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    archs = [sample_architecture(study.ask(), spec) for _ in range(30)]
    assert {a.stem_width for a in archs} - {16, 32}  # some samples scaled by 0.5 or 0.75
    assert all(space_contains(spec, a) for a in archs)


# Documented parameter counts (ImageNet heads): ResNet-18 11,689,512 with its 7x7 stem;
# MobileNetV2 3,504,872 and EfficientNet-B0 5,288,548 (torchvision). Small-input variants only
# change the stem's stride (and ResNet's stem kernel 7 -> 3), which the counts below account for.
@pytest.mark.parametrize("name,imagenet_params", [
    ("resnet18", 11_689_512 - 64 * 3 * 7 * 7 + 64 * 3 * 3 * 3),
    ("mobilenet_v2", 3_504_872),
    ("efficientnet_b0", 5_288_548),
])
def test_baselines_have_the_documented_parameter_counts(name: str, imagenet_params: int) -> None:
    assert count_params(build_network(get_baseline(name), 3, 1000, 2)) == imagenet_params


def test_resnet18_small_input_has_the_cifar_figure() -> None:
    assert count_params(build_network(resnet18(), 3, 10, 2)) == 11_173_962


def test_se_resnet18_adds_one_squeeze_and_excitation_per_block() -> None:
    # Per block of width C: a C -> C/16 and a C/16 -> C 1x1 conv, both with biases.
    se = sum(2 * (2 * c * (c // 16) + c // 16 + c) for c in (64, 128, 256, 512))
    assert count_params(build_network(se_resnet18(), 3, 10, 2)) == 11_173_962 + se


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "efficientnet_b0"])
def test_baselines_match_the_zoo_network_they_stand_for(name: str) -> None:
    ours = build_network(get_baseline(name), 3, 10, 2)
    zoo = create_model(name, num_classes=10, in_channels=3, small_input=True)
    assert count_params(ours) == count_params(zoo)
    assert count_flops(ours, (1, 3, 32, 32)) == count_flops(zoo, (1, 3, 32, 32))


def test_an_unknown_baseline_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown baseline 'vgg16'; choose one of: efficientnet_b0, mobilenet_v2"):
        get_baseline("vgg16")
