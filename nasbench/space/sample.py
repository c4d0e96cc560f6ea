"""Sampling a space through Optuna's define-by-run API, and feasibility checks.

Parameter names are hierarchical and unique (``s2.block``, ``stage.kernel`` when shared).
Numeric choices are sampled as an ordinal index (``suggest_int``) so model-based samplers see
their order (and CMA-ES can work on them); string choices are categorical. A choice with a
single value is fixed and not sampled at all.
"""

from __future__ import annotations

from typing import Any, Protocol

from nasbench.nn.blocks import make_divisible
from nasbench.space.architecture import SE_BLOCKS, Architecture, Stage
from nasbench.space.spec import SpaceSpec, StageChoices


class TrialLike(Protocol):
    def suggest_int(self, name: str, low: int, high: int) -> int: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def choose(trial: TrialLike, name: str, values: list) -> Any:
    """Pick one of ``values`` under parameter ``name``."""
    if len(values) == 1:
        return values[0]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        ordered = sorted(values)
        return ordered[trial.suggest_int(name, 0, len(ordered) - 1)]
    return trial.suggest_categorical(name, [str(v) if v is not None else "none" for v in values]) \
        if any(v is None for v in values) else trial.suggest_categorical(name, values)


def _none_from(value: Any) -> Any:
    return None if value == "none" else value


def sample_architecture(trial: TrialLike, spec: SpaceSpec) -> Architecture:
    """Sample one Architecture from ``spec`` (define-by-run, no computation inside)."""
    shared = {f: choose(trial, f"stage.{f}", getattr(spec.stage, f)) for f in spec.shared}
    resolution = choose(trial, "resolution", spec.resolution)
    resolution = None if resolution in (None, "none") else int(resolution)
    width_mult = choose(trial, "width_mult", spec.width_mult)
    num_stages = choose(trial, "num_stages", spec.num_stages)
    stages = tuple(
        _sample_stage(trial, f"s{i}", spec.stage_choices(i), shared, width_mult) for i in range(num_stages)
    )
    return Architecture(
        stages=stages,
        stem_width=_scale(choose(trial, "stem.width", spec.stem.width), width_mult),
        stem_kernel=choose(trial, "stem.kernel", spec.stem.kernel),
        stem_stride=choose(trial, "stem.stride", spec.stem.stride),
        activation="silu" if (a := choose(trial, "activation", spec.activation)) == "swish" else a,
        norm=choose(trial, "norm", spec.norm),
        head_dropout=float(choose(trial, "head.dropout", spec.head.dropout)),
        resolution=resolution,
    )


def _sample_stage(trial: TrialLike, prefix: str, c: StageChoices, shared: dict[str, Any],
                  width_mult: float) -> Stage:
    def pick(field: str) -> Any:
        return shared[field] if field in shared else choose(trial, f"{prefix}.{field}", getattr(c, field))

    block = pick("block")
    se = pick("se") if block in SE_BLOCKS else None
    return Stage(
        block=block,
        depth=pick("depth"),
        width=_scale(pick("width"), width_mult),
        kernel=pick("kernel"),
        dilation=pick("dilation"),
        downsample=pick("downsample"),
        expansion=pick("expansion") if block == "inverted" else None,
        growth=pick("growth") if block == "dense" else None,
        se_ratio=float(se) if se else None,
    )


def _scale(width: int, mult: float) -> int:
    return width if mult == 1.0 else make_divisible(width * mult, 4)


def infeasibility(arch: Architecture, input_size: tuple[int, ...]) -> str | None:
    """Why ``arch`` cannot be trained on inputs of ``input_size`` (spatial), or None if it can."""
    size = min(input_size) if arch.resolution is None else arch.resolution
    if not arch.stages:
        return "the network has no stages"
    if arch.stem_stride > 1:
        size //= arch.stem_stride
    for i, stage in enumerate(arch.stages):
        if stage.depth == 0:
            return f"stage s{i} is empty (depth 0)"
        if stage.downsample != "none":
            size //= 2
        if size < 1:
            return (f"input size {min(input_size) if arch.resolution is None else arch.resolution} is too "
                    f"small for {arch.num_downsamples} downsamplings (reached stage s{i} with nothing left)")
        reach = stage.kernel + (stage.kernel - 1) * (stage.dilation - 1)
        if stage.dilation > 1 and reach > size:
            return (f"stage s{i}: kernel {stage.kernel} with dilation {stage.dilation} spans {reach} "
                    f"positions, more than its {size}-wide feature map")
    return None
