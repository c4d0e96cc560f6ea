"""Documented networks that are points of the shipped spaces, and proof of membership.

Each baseline is the small-input variant the zoo builds (stem stride 1, no stem max-pool, the
body unchanged), written as an ``Architecture`` so a search can be seeded with it and a
leaderboard can say "the space contains ResNet-18". ``space_contains`` proves membership by
replaying the architecture's choices through the space's own define-by-run sampler.
"""

from __future__ import annotations

from dataclasses import replace

from optuna.trial import FixedTrial

from nasbench.errors import ConfigError
from nasbench.space.architecture import Architecture, Stage
from nasbench.space.sample import replay_params, sample_architecture
from nasbench.space.spec import SpaceSpec


def resnet18() -> Architecture:
    """ResNet-18 (He et al., 2016), small-input: 3x3 stem of 64, four stages of two basic blocks."""
    return Architecture(
        stem_width=64,
        stem_kernel=3,
        stem_stride=1,
        activation="relu",
        norm="batch",
        stages=(
            Stage("residual", 2, 64),
            Stage("residual", 2, 128, downsample="stride"),
            Stage("residual", 2, 256, downsample="stride"),
            Stage("residual", 2, 512, downsample="stride"),
        ),
    )


def se_resnet18() -> Architecture:
    """ResNet-18 with squeeze-and-excitation in every block, reduction 16 (Hu et al., 2018)."""
    base = resnet18()
    stages = tuple(Stage(s.block, s.depth, s.width, downsample=s.downsample, se_ratio=1 / 16) for s in base.stages)
    return replace(base, stages=stages)


def mobilenet_v2() -> Architecture:
    """MobileNetV2 (Sandler et al., 2018, Table 2), small-input: the stem's stride 2 becomes 1.

    ReLU6, a 1x1 conv to 1280 and dropout 0.2 before the classifier, as torchvision's.
    """
    table = (
        (1, 16, 1, "none"),
        (6, 24, 2, "stride"),
        (6, 32, 3, "stride"),
        (6, 64, 4, "stride"),
        (6, 96, 3, "none"),
        (6, 160, 3, "stride"),
        (6, 320, 1, "none"),
    )
    return _mobile("relu6", tuple(Stage("inverted", n, c, kernel=3, downsample=d, expansion=t) for t, c, n, d in table))


def efficientnet_b0() -> Architecture:
    """EfficientNet-B0 (Tan and Le, 2019, Table 1), small-input: the stem's stride 2 becomes 1.

    MBConv blocks with SE (a quarter of each block's input channels), SiLU, a 1x1 conv to 1280
    and dropout 0.2. Stochastic depth is a training choice, not part of the architecture.
    """
    table = (
        (1, 3, 16, 1, "none"),
        (6, 3, 24, 2, "stride"),
        (6, 5, 40, 2, "stride"),
        (6, 3, 80, 3, "stride"),
        (6, 5, 112, 3, "none"),
        (6, 5, 192, 4, "stride"),
        (6, 3, 320, 1, "none"),
    )
    return _mobile(
        "silu",
        tuple(Stage("inverted", n, c, kernel=k, downsample=d, expansion=t, se_ratio=0.25) for t, k, c, n, d in table),
    )


def _mobile(activation: str, stages: tuple[Stage, ...]) -> Architecture:
    """What MobileNetV2 and EfficientNet-B0 share around their stages: a 32-wide 3x3 stem (stride 1
    for small inputs), batch norm, a 1x1 conv to 1280 and dropout 0.2 before the classifier."""
    return Architecture(
        stem_width=32,
        stem_kernel=3,
        stem_stride=1,
        activation=activation,
        norm="batch",
        head_width=1280,
        head_dropout=0.2,
        stages=stages,
    )


# name -> (architecture, the shipped space that contains it)
BASELINES = {
    "resnet18": (resnet18, "resnet_like"),
    "se_resnet18": (se_resnet18, "resnet_like"),
    "mobilenet_v2": (mobilenet_v2, "mobile"),
    "efficientnet_b0": (efficientnet_b0, "mobile"),
}


def get_baseline(name: str) -> Architecture:
    """The baseline architecture called ``name``."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose one of: {', '.join(sorted(BASELINES))}.")
    return BASELINES[name][0]()


def space_contains(spec: SpaceSpec, arch: Architecture) -> bool:
    """True when sampling ``spec`` can give ``arch``.

    Proved, not guessed: the choices that should give ``arch`` are replayed through the space's
    sampler with an Optuna ``FixedTrial`` and the digest of what it samples is compared.
    """
    for mult in spec.width_mult:
        params = replay_params(spec, arch, mult)
        if params is not None and sample_architecture(FixedTrial(params), spec).digest() == arch.digest():
            return True
    return False
