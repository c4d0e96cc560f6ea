"""Sampling a space through Optuna's define-by-run API, and feasibility checks.

Parameter names are hierarchical and unique (``s2.block``, ``stage.kernel`` when shared), and
Optuna stores the values the user wrote, keeping their order where a sampler can use it:

- evenly spaced integers (widths 16, 24, 32; kernels 3, 5, 7) are an integer range with a step,
  ``suggest_int("s0.width", 16, 32, step=8)``;
- evenly spaced numbers with a fraction (dropout 0.0, 0.2) are a float range with a step, and
  the answer is rounded to the nearest listed value (a float grid's points carry rounding error);
- other numbers (dilations 1, 2, 4) are categories of the numbers themselves, in increasing order;
- strings are categories in the order written (None, as in ``resolution: [null, 24]``, is "none").

A choice with a single value is fixed and not sampled at all.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

import numpy as np

from nasbench.space.architecture import Architecture, Stage, applies, canonical_choice
from nasbench.space.spec import STAGE_ATTRS, STAGE_FIELDS, SpaceSpec, StageChoices
from nasbench.space.widths import scale_width


class TrialLike(Protocol):
    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None) -> float: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


class IndexTrial(ABC):
    """A trial-like that answers each question with the index of one of its values (a subclass
    says which) and records the answers in ``params`` as an Optuna trial does."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    @abstractmethod
    def pick(self, name: str, n: int) -> int:
        """The index, in ``range(n)``, of the answer to question ``name``."""

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1) -> int:
        return self._answer(name, low + step * self.pick(name, (high - low) // step + 1))

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None) -> float:
        if step is None:
            raise ValueError(f"parameter {name!r}: a space's float choices are a grid (step), not a range")
        lo, d = _dec(low), _dec(step)
        k = self.pick(name, int((_dec(high) - lo) / d) + 1)
        return self._answer(name, min(float(lo + d * k), high))  # Decimal: no 0.30000000000000004

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self._answer(name, choices[self.pick(name, len(choices))])

    def _answer(self, name: str, value: Any) -> Any:
        self.params[name] = value
        return value


class RandomTrial(IndexTrial):
    """A trial-like drawing every choice uniformly from a numpy generator (no Optuna study)."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__()
        self.rng = rng

    def pick(self, name: str, n: int) -> int:
        return int(self.rng.integers(n))


@dataclass(frozen=True)
class Encoding:
    """How a list of choices is asked of a trial: ``kind`` with its range (``low``, ``high``,
    ``step``) or its categories (``choices``); ``values`` are the listed values in the order of
    the range or of the categories."""

    kind: Literal["int", "float", "categorical"]
    values: tuple
    choices: tuple = ()
    low: float = 0
    high: float = 0
    step: float = 0


def encoding(values: list) -> Encoding:
    """How ``values`` (two or more) are asked of a trial."""
    if not _is_numeric(values):
        # Optuna's categoricals hold plain values; None is "none" (Optuna's dashboard shows it).
        return Encoding("categorical", tuple(values), tuple("none" if v is None else v for v in values))
    ordered = tuple(sorted(values))
    gaps = {_dec(b) - _dec(a) for a, b in itertools.pairwise(ordered)}
    if len(gaps) == 1:
        step = gaps.pop()
        if all(isinstance(v, int) for v in ordered):
            return Encoding("int", ordered, low=ordered[0], high=ordered[-1], step=int(step))
        return Encoding("float", ordered, low=float(ordered[0]), high=float(ordered[-1]), step=float(step))
    return Encoding("categorical", ordered, ordered)


def _is_numeric(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _dec(x: float) -> Decimal:
    return Decimal(repr(x))


def choose(trial: TrialLike, name: str, values: list) -> Any:
    """Pick one of ``values`` under parameter ``name``."""
    if len(values) == 1:
        return values[0]
    e = encoding(values)
    if e.kind == "int":
        return trial.suggest_int(name, int(e.low), int(e.high), step=int(e.step))
    if e.kind == "float":
        x = trial.suggest_float(name, e.low, e.high, step=e.step)
        return min(e.values, key=lambda v: abs(v - x))
    return e.values[e.choices.index(trial.suggest_categorical(name, list(e.choices)))]


def encode(values: list, value: Any) -> Any:
    """The Optuna parameter value under which ``choose`` picks ``value`` from ``values``."""
    e = encoding(values)
    if e.kind == "categorical":
        return e.choices[e.values.index(value)]
    return float(value) if e.kind == "float" else value


def parameter_choices(spec: SpaceSpec) -> dict[str, list]:
    """Every parameter ``sample_architecture`` can ask for, with its listed values."""
    named: dict[str, list] = {
        "resolution": spec.resolution,
        "width_mult": spec.width_mult,
        "num_stages": spec.num_stages,
        "stem.width": spec.stem.width,
        "stem.kernel": spec.stem.kernel,
        "stem.stride": spec.stem.stride,
        "activation": spec.activation,
        "norm": spec.norm,
        "head.dropout": spec.head.dropout,
        "head.width": spec.head.width,
    }
    named |= {f"stage.{f}": getattr(spec.stage, f) for f in spec.shared}
    for i in range(max(spec.num_stages)):
        c = spec.stage_choices(i)
        named |= {f"s{i}.{f}": getattr(c, f) for f in STAGE_FIELDS if f not in spec.shared}
    return {name: list(values) for name, values in named.items() if len(values) > 1}


def sample_architecture(trial: TrialLike, spec: SpaceSpec) -> Architecture:
    """Sample one Architecture from ``spec`` (define-by-run, no computation inside)."""
    shared = {f: choose(trial, f"stage.{f}", getattr(spec.stage, f)) for f in spec.shared}
    resolution = choose(trial, "resolution", spec.resolution)
    width_mult = choose(trial, "width_mult", spec.width_mult)
    num_stages = choose(trial, "num_stages", spec.num_stages)
    stages = tuple(_sample_stage(trial, f"s{i}", spec.stage_choices(i), shared, width_mult) for i in range(num_stages))
    return Architecture(
        stages=stages,
        stem_width=scale_width(choose(trial, "stem.width", spec.stem.width), width_mult),
        stem_kernel=choose(trial, "stem.kernel", spec.stem.kernel),
        stem_stride=choose(trial, "stem.stride", spec.stem.stride),
        activation=choose(trial, "activation", spec.activation),
        norm=choose(trial, "norm", spec.norm),
        head_dropout=float(choose(trial, "head.dropout", spec.head.dropout)),
        head_width=choose(trial, "head.width", spec.head.width),
        resolution=resolution,
    )


def _sample_stage(trial: TrialLike, prefix: str, c: StageChoices, shared: dict[str, Any], width_mult: float) -> Stage:
    def pick(field: str) -> Any:
        return shared[field] if field in shared else choose(trial, f"{prefix}.{field}", getattr(c, field))

    block = pick("block")
    return Stage(
        block=block,
        depth=pick("depth"),
        width=scale_width(pick("width"), width_mult),
        kernel=pick("kernel"),
        dilation=pick("dilation"),
        downsample=pick("downsample"),
        # Conditional choices are asked for only where they apply (define-by-run).
        expansion=pick("expansion") if applies(block, "expansion") else None,
        growth=pick("growth") if applies(block, "growth") else None,
        se_ratio=pick("se") if applies(block, "se_ratio") else None,
    )


def replay_params(spec: SpaceSpec, arch: Architecture, width_mult: float) -> dict[str, Any] | None:
    """Optuna parameters under which ``sample_architecture`` should give ``arch`` with
    ``width_mult``, or None when a value of ``arch`` is not among the space's choices.

    Only a candidate: sampling with these parameters and comparing digests is the proof.
    """
    params: dict[str, Any] = {}

    def put(name: str, values: list, wanted: Any, seen_as: Callable[[Any], Any] = lambda v: v) -> bool:
        match = [v for v in values if seen_as(v) == wanted]
        if match and len(values) > 1:
            params[name] = encode(values, match[0])
        return bool(match)

    def scaled(w: int) -> int:
        return scale_width(w, width_mult)

    found = [
        put("resolution", spec.resolution, arch.resolution),
        put("width_mult", spec.width_mult, width_mult),
        put("num_stages", spec.num_stages, len(arch.stages)),
        put("stem.width", spec.stem.width, arch.stem_width, scaled),
        put("stem.kernel", spec.stem.kernel, arch.stem_kernel),
        put("stem.stride", spec.stem.stride, arch.stem_stride),
        put("activation", spec.activation, arch.activation),
        put("norm", spec.norm, arch.norm),
        put("head.dropout", spec.head.dropout, arch.head_dropout, float),
        put("head.width", spec.head.width, arch.head_width),
    ]
    for f in spec.shared:
        attr = STAGE_ATTRS.get(f, f)

        def seen(v, a=attr, w=f == "width"):
            return [canonical_choice(s.block, a, scaled(v) if w else v) for s in arch.stages]

        found.append(put(f"stage.{f}", getattr(spec.stage, f), [getattr(s, attr) for s in arch.stages], seen))
    for i, s in enumerate(arch.stages[: max(spec.num_stages)]):
        c = spec.stage_choices(i)
        for f in (f for f in STAGE_FIELDS if f not in spec.shared):
            attr = STAGE_ATTRS.get(f, f)
            if not applies(s.block, attr):
                continue  # the sampler does not ask for it with this block type
            seen_as = scaled if f == "width" else (lambda v, a=attr, b=s.block: canonical_choice(b, a, v))
            found.append(put(f"s{i}.{f}", getattr(c, f), getattr(s, attr), seen_as))
    return params if all(found) else None


def infeasibility(arch: Architecture, input_size: tuple[int, ...]) -> str | None:
    """Why ``arch`` cannot be trained on inputs of ``input_size``, or None if it can.

    ``input_size`` is the spatial size the network sees, after any resize (the caller decides
    between the data's size, ``arch.resolution`` and a fidelity's resolution). Feature-map sizes
    are tracked exactly: a strided conv gives ceil(n/2), a pool floor(n/2).
    """
    start = min(input_size)
    if not arch.stages:
        return "the network has no stages"
    size = start
    if arch.stem_stride > 1:
        if size < arch.stem_stride:
            return f"input size {start} is smaller than the stem's stride {arch.stem_stride}"
        size = -(-size // arch.stem_stride)
    for i, stage in enumerate(arch.stages):
        if stage.depth == 0:
            return f"stage s{i} is empty (depth 0)"
        if stage.downsample != "none":
            if size < 2:
                return (
                    f"input size {start} is too small for {arch.num_downsamples} downsamplings: "
                    f"stage s{i} would halve a feature map of size {size}"
                )
            size = -(-size // 2) if stage.downsample == "stride" else size // 2
        reason = _kernel_misfit(i, stage, size)
        if reason:
            return reason
    return None


def _kernel_misfit(i: int, stage: Stage, size: int) -> str | None:
    """A dilated kernel whose outer taps never see the feature map, or that a 1-wide kernel
    cannot use. Undilated kernels are left alone: a 3x3 on a 1x1 map is the usual last stage."""
    if stage.dilation == 1:
        return None
    if stage.kernel == 1:
        return (
            f"stage s{i}: dilation {stage.dilation} has no effect on a kernel of size 1 "
            "(the same network as dilation 1)"
        )
    offset = (stage.kernel - 1) // 2 * stage.dilation
    if offset >= size:
        return (
            f"stage s{i}: kernel {stage.kernel} with dilation {stage.dilation} puts its outer taps "
            f"{offset} positions from the centre, but its feature map is only {size} wide: they "
            "only ever see padding"
        )
    return None
