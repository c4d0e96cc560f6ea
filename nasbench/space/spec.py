"""The search-space file format (YAML), validated with pydantic.

Every choice is a list of values (a scalar means a fixed choice). ``stage`` gives the choices of
every stage; ``stages`` overrides them per stage position; ``shared`` names stage fields sampled
once for all stages (e.g. one kernel size everywhere) instead of per stage. ``width_mult``
scales the stem's and every stage's width (rounded to a multiple of 4); the head's width is
absolute. ``search_spaces/full.yaml`` uses every field and documents each in its header.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from nasbench.core.config import Strict, first_error, load_yaml_mapping
from nasbench.errors import ConfigError
from nasbench.space.architecture import (
    ACTIVATION_ALIASES,
    ACTIVATIONS,
    BLOCK_TYPES,
    DOWNSAMPLES,
    NORMS,
    canonical_choice,
)
from nasbench.space.widths import scale_width

STAGE_FIELDS = ("block", "depth", "width", "kernel", "dilation", "downsample", "expansion", "se", "growth")
STAGE_ATTRS = {"se": "se_ratio"}  # space field -> Stage attribute, where the names differ


def _as_list(v: Any) -> Any:
    return v if isinstance(v, list) else [v]


def _distinct(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError(f"lists a value more than once: {values}")
    return values


def _check_members(values: list, allowed: tuple[str, ...], what: str) -> list:
    for v in values:
        if v not in allowed:
            raise ValueError(f"unknown {what} {v!r}; choose from {', '.join(allowed)}")
    return values


def _positive(values: list) -> list:
    if any(x is not None and x <= 0 for x in values):
        raise ValueError(f"must be positive, got {values}")
    return values


T = TypeVar("T")


def _merged_choice(values: list[T] | None) -> list[T]:
    """A choice of a merged stage (``SpaceSpec.stage`` or ``stage_choices``), where none is left unset."""
    assert values is not None, "a merged stage has every choice"
    return values


def _odd(values: list[int]) -> list[int]:
    if any(k <= 0 or k % 2 == 0 for k in values):
        raise ValueError(f"kernel sizes must be odd and positive (same padding), got {values}")
    return values


class StageChoices(Strict):
    """Choices for one stage position (every field optional in overrides)."""

    block: list[str] | None = None
    depth: list[int] | None = None
    width: list[int] | None = None  # output channels (before width_mult)
    kernel: list[int] | None = None
    dilation: list[int] | None = None
    downsample: list[str] | None = None  # none, stride (first block strided) or pool
    expansion: list[int] | None = None  # only used by inverted blocks
    se: list[float] | None = None  # SE ratio, 0 = none; residual/bottleneck/inverted/se blocks
    growth: list[int] | None = None  # only used by dense blocks

    _lists = field_validator(*STAGE_FIELDS, mode="before")(lambda cls, v: None if v is None else _as_list(v))

    @field_validator(*STAGE_FIELDS)
    @classmethod
    def _non_empty(cls, v: list | None) -> list | None:
        if v is not None and len(v) == 0:
            raise ValueError("a choice needs at least one value")
        return v if v is None else _distinct(v)

    @field_validator("block")
    @classmethod
    def _blocks(cls, v: list | None) -> list | None:
        return v if v is None else _check_members(v, BLOCK_TYPES, "block type")

    @field_validator("downsample")
    @classmethod
    def _downsample(cls, v: list | None) -> list | None:
        return v if v is None else _check_members(v, DOWNSAMPLES, "downsample")

    @field_validator("depth")
    @classmethod
    def _depth(cls, v: list | None) -> list | None:
        if v and any(d < 1 for d in v):
            # A stage of depth 0 is empty and no network with one can train (see infeasibility);
            # fewer stages are chosen with num_stages.
            raise ValueError(f"depth must be >= 1 (use num_stages for fewer stages), got {v}")
        return v

    @field_validator("width", "expansion", "growth", "dilation")
    @classmethod
    def _positive(cls, v: list | None) -> list | None:
        return v if v is None else _positive(v)

    @field_validator("kernel")
    @classmethod
    def _kernel(cls, v: list | None) -> list | None:
        return v if v is None else _odd(v)

    @field_validator("se")
    @classmethod
    def _se(cls, v: list | None) -> list | None:
        if v and any(not 0 <= r <= 1 for r in v):
            raise ValueError(f"SE ratios must lie in [0, 1], got {v}")
        return v


DEFAULT_STAGE = StageChoices(
    block=["plain"],
    depth=[1],
    width=[32],
    kernel=[3],
    dilation=[1],
    downsample=["stride"],
    expansion=[6],
    se=[0.0],
    growth=[12],
)


class StemChoices(Strict):
    width: list[int] = [16]
    kernel: list[int] = [3]
    stride: list[int] = [1]

    _lists = field_validator("width", "kernel", "stride", mode="before")(lambda cls, v: _as_list(v))

    @field_validator("width", "kernel", "stride")
    @classmethod
    def _values(cls, v: list[int], info: ValidationInfo) -> list[int]:
        _distinct(v)
        return _odd(v) if info.field_name == "kernel" else _positive(v)


class HeadChoices(Strict):
    dropout: list[float] = [0.0]
    width: list[int] = [0]  # a 1x1 conv-norm-act to this width before the pool; 0 = none

    _lists = field_validator("dropout", "width", mode="before")(lambda cls, v: _as_list(v))

    @field_validator("dropout")
    @classmethod
    def _dropout(cls, v: list[float]) -> list[float]:
        if any(not 0 <= p < 1 for p in v):
            raise ValueError(f"dropout must lie in [0, 1), got {v}")
        return _distinct(v)

    @field_validator("width")
    @classmethod
    def _width(cls, v: list[int]) -> list[int]:
        if any(w < 0 for w in v):
            raise ValueError(f"must be >= 0 (0 = no head conv), got {v}")
        return _distinct(v)


class SpaceSpec(Strict):
    """A whole search space."""

    name: str
    description: str = ""
    ndim: list[int] = [1, 2, 3]  # input dimensionalities the space accepts
    resolution: list[int | None] = [None]  # input resize per spatial dim; None keeps native size
    width_mult: list[float] = [1.0]
    num_stages: list[int] = [3]
    stem: StemChoices = StemChoices()
    stage: StageChoices = DEFAULT_STAGE
    stages: list[StageChoices] = Field(default_factory=list)  # per-position overrides
    shared: list[str] = Field(default_factory=list)
    activation: list[str] = ["relu"]
    norm: list[str] = ["batch"]
    head: HeadChoices = HeadChoices()

    _lists = field_validator("ndim", "resolution", "width_mult", "num_stages", "activation", "norm", mode="before")(
        lambda cls, v: _as_list(v)
    )

    @field_validator("ndim")
    @classmethod
    def _ndim(cls, v: list[int]) -> list[int]:
        if not v or any(d not in (1, 2, 3) for d in v):
            raise ValueError(f"ndim must be a list of 1, 2 and/or 3, got {v}")
        return _distinct(v)

    @field_validator("num_stages")
    @classmethod
    def _num_stages(cls, v: list[int]) -> list[int]:
        if not v or any(n < 1 for n in v):
            raise ValueError(f"num_stages must be >= 1, got {v}")
        return _distinct(v)

    @field_validator("activation")
    @classmethod
    def _act(cls, v: list[str]) -> list[str]:
        _check_members(_distinct(v), ACTIVATIONS + tuple(ACTIVATION_ALIASES), "activation")
        named = [ACTIVATION_ALIASES.get(a, a) for a in v]
        if len(set(named)) != len(named):
            raise ValueError(f"lists one activation under two names (swish is silu): {v}")
        return named

    @field_validator("norm")
    @classmethod
    def _norm(cls, v: list[str]) -> list[str]:
        return _distinct(_check_members(v, NORMS, "normalisation"))

    @field_validator("shared")
    @classmethod
    def _shared(cls, v: list[str]) -> list[str]:
        return _distinct(_check_members(v, STAGE_FIELDS, "shared stage field"))

    @field_validator("width_mult", "resolution")
    @classmethod
    def _pos(cls, v: list) -> list:
        if not v:
            raise ValueError("a choice needs at least one value")
        return _distinct(_positive(v))

    @model_validator(mode="after")
    def _filled(self) -> SpaceSpec:
        # Fill the default stage from DEFAULT_STAGE so every field has choices.
        merged = {f: getattr(self.stage, f) or getattr(DEFAULT_STAGE, f) for f in STAGE_FIELDS}
        object.__setattr__(self, "stage", StageChoices(**merged))
        if len(self.stages) > max(self.num_stages):
            raise ValueError(
                f"stages lists {len(self.stages)} per-stage overrides but num_stages is at most {max(self.num_stages)}"
            )
        for i, st in enumerate(self.stages):
            for f in self.shared:
                if getattr(st, f) is not None:
                    raise ValueError(f"stages[{i}].{f} overrides a field declared shared")
        if self.cardinality() == 1:
            raise ValueError(
                "the space has no choices: every field has a single value, or only values that build the same network"
            )
        return self

    def stage_choices(self, index: int) -> StageChoices:
        """Effective choices at stage position ``index`` (defaults merged with overrides)."""
        over = self.stages[index] if index < len(self.stages) else StageChoices()
        return StageChoices(**{f: getattr(over, f) or getattr(self.stage, f) for f in STAGE_FIELDS})

    def cardinality(self) -> int:
        """The exact number of distinct architectures (distinct digests) the space holds.

        Conditional choices count only where they apply, and choices that build the same network
        count once. Width multipliers can map different widths to the same one, so their sets
        of architectures are joined by inclusion-exclusion.
        """
        fixed = math.prod(
            len(v)
            for v in (
                self.resolution,
                self.stem.kernel,
                self.stem.stride,
                self.activation,
                self.norm,
                self.head.dropout,
                self.head.width,
            )
        )
        total = 0
        for r in range(1, len(self.width_mult) + 1):
            for mults in itertools.combinations(self.width_mult, r):
                total += (-1) ** (r + 1) * self._count_under(mults)
        return fixed * total

    def _count_under(self, mults: tuple[float, ...]) -> int:
        """Stems and bodies every multiplier in ``mults`` can give."""

        def widths(values: Iterable[int]) -> set[int]:
            return set.intersection(*({scale_width(w, m) for w in values} for m in mults))

        stems = len(widths(self.stem.width))
        return stems * sum(self._bodies(n, widths) for n in self.num_stages)

    def _bodies(self, n: int, widths: Callable[[Iterable[int]], set[int]]) -> int:
        """Distinct ``n``-stage bodies.

        A body is a block per stage, the stages' own (non-shared) choices, and the shared values
        as the blocks used see them (an expansion only matters if some stage is inverted). So
        the count sums, over each set B of block types, the bodies whose blocks are exactly B
        times the distinct shared values B can tell apart.
        """
        positions = [self.stage_choices(i) for i in range(n)]
        blocks = sorted({b for c in positions for b in _merged_choice(c.block)})
        options = [
            {b: _stage_options(c, b, self.shared, widths) if b in _merged_choice(c.block) else 0 for b in blocks}
            for c in positions
        ]
        assignments = self._shared_assignments(widths)
        total = 0
        for size in range(1, len(blocks) + 1):
            for used in itertools.combinations(blocks, size):
                told_apart = _shared_footprints(used, assignments)
                if told_apart:
                    total += _exactly(used, options) * told_apart
        return total

    def _shared_assignments(self, widths: Callable[[Iterable[int]], set[int]]) -> list[dict[str, Any]]:
        values = [
            sorted(widths(_merged_choice(self.stage.width))) if f == "width" else getattr(self.stage, f)
            for f in self.shared
        ]
        return [dict(zip(self.shared, combo)) for combo in itertools.product(*values)]


def _stage_options(c: StageChoices, block: str, shared: list[str], widths: Callable[[Iterable[int]], set[int]]) -> int:
    """Distinct non-shared choices of one stage position with block type ``block``."""
    count = 1
    for f in STAGE_FIELDS:
        if f == "block" or f in shared:
            continue
        values = widths(_merged_choice(c.width)) if f == "width" else getattr(c, f)
        count *= len({canonical_choice(block, STAGE_ATTRS.get(f, f), v) for v in values})
    return count


def _exactly(used: tuple[str, ...], options: list[dict[str, int]]) -> int:
    """Stage tuples whose set of block types is exactly ``used`` (inclusion-exclusion)."""
    total = 0
    for size in range(1, len(used) + 1):
        for subset in itertools.combinations(used, size):
            sign = (-1) ** (len(used) - size)
            total += sign * math.prod(sum(o[b] for b in subset) for o in options)
    return total


def _shared_footprints(used: tuple[str, ...], assignments: list[dict[str, Any]]) -> int:
    """Distinct shared values as stages of the block types ``used`` see them."""
    seen = set()
    for a in assignments:
        if "block" in a and used != (a["block"],):
            continue
        seen.add(
            tuple(canonical_choice(b, STAGE_ATTRS.get(f, f), v) for b in used for f, v in a.items() if f != "block")
        )
    return len(seen)


def load_space(path: str | Path) -> SpaceSpec:
    """Load and validate a space file; errors name the file and the field."""
    data = load_yaml_mapping(path, "search space")
    data.setdefault("name", Path(path).stem)
    return parse_space(data, str(path))


def parse_space(data: dict[str, Any], where: str = "space") -> SpaceSpec:
    try:
        return SpaceSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{where}: {first_error(e)}") from e
