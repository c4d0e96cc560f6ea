"""Sampling through Optuna's define-by-run API, order-independent digests, and feasibility."""

from __future__ import annotations

import random

import optuna
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FixedTrial

from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture, Stage
from nasbench.space.sample import infeasibility, sample_architecture
from nasbench.space.spec import parse_space
from tests.space.helpers import SPACES, DrawTrial, shipped

optuna.logging.set_verbosity(optuna.logging.WARNING)


def random_trials(n: int, seed: int = 0) -> list[optuna.Trial]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [study.ask() for _ in range(n)]


def test_conditional_choices_are_asked_only_where_they_apply() -> None:
    spec = shipped("full")
    for trial in random_trials(40):
        arch = sample_architecture(trial, spec)
        for i, stage in enumerate(arch.stages):
            assert (f"s{i}.expansion" in trial.params) == (stage.block == "inverted")
            assert (f"s{i}.growth" in trial.params) == (stage.block == "dense")
            assert (f"s{i}.se" in trial.params) == (stage.block in ("residual", "bottleneck", "inverted", "se"))
        assert not any(name.startswith(f"s{len(arch.stages)}.") for name in trial.params)


def test_optuna_stores_the_values_written_in_the_space_file() -> None:
    # full.yaml: kernel [3, 5, 7], dilation [1, 2], width_mult [0.5, 1.0], resolution [null, 24],
    # stage 0's width [16, 32], head dropout [0.0, 0.2]
    trial = random_trials(1)[0]
    arch = sample_architecture(trial, shipped("full"))
    dists, params = trial.distributions, trial.params
    assert dists["s0.kernel"] == IntDistribution(3, 7, step=2) and params["s0.kernel"] == arch.stages[0].kernel
    assert dists["s0.width"] == IntDistribution(16, 32, step=16)
    assert dists["width_mult"] == FloatDistribution(0.5, 1.0, step=0.5)
    assert dists["head.dropout"] == FloatDistribution(0.0, 0.2, step=0.2)
    assert params["head.dropout"] == arch.head_dropout
    assert dists["s0.block"] == CategoricalDistribution(["plain", "residual", "bottleneck", "inverted", "se", "dense"])
    assert params["s0.block"] == arch.stages[0].block
    assert set(dists["activation"].choices) == {"relu", "relu6", "silu", "gelu", "hswish"}
    assert dists["resolution"].choices == ("none", 24)  # None is "none"; the number stays a number
    assert "stem.kernel" in dists and "norm" in dists


def test_unevenly_spaced_numbers_are_categories_of_the_numbers() -> None:
    # mnist1d.yaml: dilation [1, 2, 4], expansion [2, 4]; resnet_like.yaml: se [0, 0.0625, 0.25]
    for trial in random_trials(20):
        arch = sample_architecture(trial, shipped("mnist1d"))
        assert trial.distributions["s0.dilation"] == CategoricalDistribution([1, 2, 4])
        assert trial.params["s0.dilation"] == arch.stages[0].dilation
        assert type(trial.params["s0.dilation"]) is int
    trial = random_trials(1)[0]
    arch = sample_architecture(trial, shipped("resnet_like"))
    assert trial.distributions["s0.se"] == CategoricalDistribution([0, 0.0625, 0.25])
    assert (trial.params["s0.se"] or None) == arch.stages[0].se_ratio


@pytest.mark.parametrize("values", [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [0.05, 0.15, 0.25], [0.3, 0.1, 0.2]])
def test_a_float_grid_gives_exactly_a_listed_value(values: list[float]) -> None:
    # Optuna's points of a float grid carry rounding error (0.1 + 2 * 0.1 is 0.30000000000000004)
    spec = parse_space({"name": "f", "num_stages": [1], "head": {"dropout": values}})
    trials = random_trials(200)
    assert {sample_architecture(t, spec).head_dropout for t in trials} == set(values)
    assert isinstance(trials[0].distributions["head.dropout"], FloatDistribution)


def test_a_shared_field_is_one_choice_for_every_stage() -> None:
    spec = shipped("resnet_like")
    kernels = set()
    for trial in random_trials(20):
        arch = sample_architecture(trial, spec)
        assert len({s.kernel for s in arch.stages}) == 1
        assert "stage.kernel" in trial.params and "s0.kernel" not in trial.params
        kernels.add(arch.stages[0].kernel)
    assert kernels == {3, 5}


def test_a_fixed_choice_is_not_a_parameter() -> None:
    trial = random_trials(1)[0]
    arch = sample_architecture(trial, shipped("tiny"))
    assert "stem.width" not in trial.params and arch.stem_width == 16
    assert "s0.downsample" not in trial.params and arch.stages[0].downsample == "none"


def test_the_same_seed_samples_the_same_architectures() -> None:
    spec = shipped("full")
    first = [sample_architecture(t, spec).digest() for t in random_trials(10, seed=3)]
    again = [sample_architecture(t, spec).digest() for t in random_trials(10, seed=3)]
    assert first == again and len(set(first)) == 10


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(SPACES), st.data(), st.randoms(use_true_random=False))
def test_the_same_choices_in_another_order_give_the_same_digest(name: str, data: st.DataObject,
                                                                rnd: random.Random) -> None:
    spec = shipped(name)
    drawn = DrawTrial(data)
    arch = sample_architecture(drawn, spec)
    items = list(drawn.params.items())
    rnd.shuffle(items)
    replayed = sample_architecture(FixedTrial(dict(items)), spec)
    assert replayed.digest() == arch.digest()
    assert Architecture.from_json(arch.to_json()).digest() == arch.digest()


def test_spaces_that_choose_differently_give_the_same_digest_for_the_same_network() -> None:
    # One kernel shared by all stages, or each stage choosing the same kernel: one network.
    shared = parse_space({"name": "a", "shared": ["kernel"], "num_stages": [2],
                          "stage": {"kernel": [3, 5], "block": ["residual"], "expansion": [3, 6]}})
    per_stage = parse_space({"name": "b", "num_stages": [2], "stage": {"kernel": [5, 3], "block": ["residual"]}})
    a = sample_architecture(FixedTrial({"stage.kernel": 5}), shared)
    b = sample_architecture(FixedTrial({"s1.kernel": 5, "s0.kernel": 5}), per_stage)
    assert a.digest() == b.digest()


# --- feasibility: each reason, before any training ---------------------------------------------

def arch(*stages: Stage, stem_stride: int = 1) -> Architecture:
    return Architecture(stages=stages, stem_width=8, stem_stride=stem_stride)


@pytest.mark.parametrize("candidate,size,reason", [
    (arch(), (28, 28), "the network has no stages"),
    (arch(Stage("plain", 1, 8), Stage("residual", 0, 16, downsample="stride")), (28, 28),
     "stage s1 is empty (depth 0)"),
    (arch(Stage("plain", 1, 8), stem_stride=4), (3, 3), "input size 3 is smaller than the stem's stride 4"),
    (arch(*[Stage("plain", 1, 8, downsample="stride")] * 4), (8, 8),
     "input size 8 is too small for 4 downsamplings: stage s3 would halve a feature map of size 1"),
    (arch(Stage("plain", 1, 8, downsample="pool"), Stage("plain", 1, 8, downsample="pool")), (28, 3),
     "input size 3 is too small for 2 downsamplings: stage s1 would halve a feature map of size 1"),
    (arch(Stage("plain", 1, 8, dilation=2, kernel=5, downsample="stride")), (8,),
     "stage s0: kernel 5 with dilation 2 puts its outer taps 4 positions from the centre, but its "
     "feature map is only 4 wide: they only ever see padding"),
    (arch(Stage("inverted", 1, 8, kernel=1, dilation=2, expansion=2)), (16, 16),
     "stage s0: dilation 2 has no effect on a kernel of size 1 (the same network as dilation 1)"),
])
def test_each_infeasibility_is_named(candidate: Architecture, size: tuple[int, ...], reason: str) -> None:
    assert infeasibility(candidate, size) == reason


def test_feature_maps_are_tracked_exactly() -> None:
    # Strided convs round up (3 -> 2 -> 1), pools round down (3 -> 1, then nothing to halve).
    strided = arch(Stage("plain", 1, 8, downsample="stride"), Stage("plain", 1, 8, downsample="stride"))
    pooled = arch(Stage("plain", 1, 8, downsample="pool"), Stage("plain", 1, 8, downsample="pool"))
    assert infeasibility(strided, (3,)) is None
    assert infeasibility(pooled, (3,)) is not None
    assert infeasibility(arch(Stage("plain", 1, 8, kernel=3, dilation=3)), (4,)) is None  # taps 3 away fit in 4
    assert infeasibility(arch(Stage("plain", 1, 8, kernel=3, dilation=4)), (4,)) is not None


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_what_is_rejected_for_downsampling_would_crash_a_worker(ndim: int) -> None:
    pooled = arch(Stage("plain", 1, 8, downsample="pool"), Stage("plain", 1, 8, downsample="pool"))
    assert infeasibility(pooled, (3,) * ndim) is not None
    net = build_network(pooled, 1, 10, ndim)
    with pytest.raises(RuntimeError):
        net(torch.randn(2, 1, *(3,) * ndim))
