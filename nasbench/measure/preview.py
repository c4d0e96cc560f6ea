"""A space before any training: sampled architectures with their params, FLOPs or the reason
they are infeasible for a given input (what ``nasbench space show/sample`` print)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import optuna

from nasbench.errors import ConfigError
from nasbench.measure.counts import count_figures
from nasbench.space.architecture import Architecture
from nasbench.space.sample import infeasibility, sample_architecture
from nasbench.space.spec import SpaceSpec


@dataclass(frozen=True)
class Preview:
    """One architecture for one input: params and FLOPs (one sample), or why it is infeasible."""

    arch: Architecture
    params: int | None = None
    flops: int | None = None
    infeasible: str | None = None


def parse_input(text: str) -> tuple[int, ...]:
    """``"1x28x28"`` -> ``(1, 28, 28)``: channels, then one to three spatial sizes."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not 2 <= len(shape) <= 4 or any(s < 1 for s in shape):
        raise ConfigError(
            f"input {text!r}: give channels then 1-3 positive spatial sizes, e.g. 1x40, 1x28x28 or 1x16x16x16."
        )
    return shape


def check_input(spec: SpaceSpec, input_shape: tuple[int, ...]) -> None:
    """Refuse an input whose dimensionality the space does not allow."""
    ndim = len(input_shape) - 1
    if ndim not in spec.ndim:
        shape = "x".join(map(str, input_shape))
        raise ConfigError(
            f"space {spec.name}: input {shape} is {ndim}D but the space's field 'ndim' allows only {spec.ndim}."
        )


def input_size(arch: Architecture, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial size the network sees: the architecture's resolution if it has one."""
    ndim = len(input_shape) - 1
    return tuple(input_shape[1:]) if arch.resolution is None else (arch.resolution,) * ndim


def figures(arch: Architecture, input_shape: tuple[int, ...], num_classes: int = 10) -> tuple[int, int]:
    """Exact params and FLOPs of one sample (FlopCounterMode: a multiply-add is 2 FLOPs)."""
    return count_figures(arch, input_shape[0], input_size(arch, input_shape), num_classes)


def preview(arch: Architecture, input_shape: tuple[int, ...], num_classes: int = 10) -> Preview:
    reason = infeasibility(arch, input_size(arch, input_shape))
    if reason is not None:
        return Preview(arch, infeasible=reason)
    params, flops = figures(arch, input_shape, num_classes)
    return Preview(arch, params, flops)


def iter_architectures(spec: SpaceSpec, seed: int | None = None) -> Iterator[Architecture]:
    """Architectures drawn one by one by Optuna's random sampler (seeded: the same sequence)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    while True:
        yield sample_architecture(study.ask(), spec)


def sample_previews(
    spec: SpaceSpec, n: int, input_shape: tuple[int, ...], seed: int | None = None, num_classes: int = 10
) -> list[Preview]:
    """``n`` sampled architectures, each with its figures or its reason to be infeasible."""
    check_input(spec, input_shape)
    return [preview(a, input_shape, num_classes) for a in islice(iter_architectures(spec, seed), n)]


def example(
    spec: SpaceSpec, input_shape: tuple[int, ...], seed: int = 0, tries: int = 200, num_classes: int = 10
) -> Preview:
    """The first feasible architecture among ``tries`` seeded samples (else the last, infeasible)."""
    check_input(spec, input_shape)
    samples = islice(iter_architectures(spec, seed), max(1, tries))
    for arch in samples:
        found = preview(arch, input_shape, num_classes)
        if found.infeasible is None:
            break
    return found
