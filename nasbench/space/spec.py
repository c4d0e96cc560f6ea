"""The search-space file format (YAML), validated with pydantic.

Every choice is a list of values (a scalar means a fixed choice). ``stage`` gives the choices of
every stage; ``stages`` overrides them per stage position; ``shared`` names stage fields sampled
once for all stages (e.g. one kernel size everywhere) instead of per stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nasbench.errors import ConfigError
from nasbench.space.architecture import ACTIVATIONS, BLOCK_TYPES, DOWNSAMPLES, NORMS

STAGE_FIELDS = ("block", "depth", "width", "kernel", "dilation", "downsample", "expansion", "se",
                "growth")


def _as_list(v: Any) -> Any:
    return v if isinstance(v, list) else [v]


def _check_members(values: list, allowed: tuple[str, ...], what: str) -> list:
    for v in values:
        if v not in allowed:
            raise ValueError(f"unknown {what} {v!r}; choose from {', '.join(allowed)}")
    return values


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageChoices(_Strict):
    """Choices for one stage position (every field optional in overrides)."""

    block: list[str] | None = None
    depth: list[int] | None = None
    width: list[int] | None = None
    kernel: list[int] | None = None
    dilation: list[int] | None = None
    downsample: list[str] | None = None
    expansion: list[int] | None = None  # only used by inverted blocks
    se: list[float] | None = None  # SE ratio, 0 = none; residual/bottleneck/inverted/se blocks
    growth: list[int] | None = None  # only used by dense blocks

    _lists = field_validator(*STAGE_FIELDS, mode="before")(lambda cls, v: None if v is None else _as_list(v))

    @field_validator(*STAGE_FIELDS)
    @classmethod
    def _non_empty(cls, v: list | None) -> list | None:
        if v is not None and len(v) == 0:
            raise ValueError("a choice needs at least one value")
        return v

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
        if v and any(d < 0 for d in v):
            raise ValueError(f"depth must be >= 0, got {v}")
        return v

    @field_validator("width", "expansion", "growth", "dilation")
    @classmethod
    def _positive(cls, v: list | None) -> list | None:
        if v and any(x <= 0 for x in v):
            raise ValueError(f"must be positive, got {v}")
        return v

    @field_validator("kernel")
    @classmethod
    def _kernel(cls, v: list | None) -> list | None:
        if v and any(k <= 0 or k % 2 == 0 for k in v):
            raise ValueError(f"kernel sizes must be odd and positive (same padding), got {v}")
        return v

    @field_validator("se")
    @classmethod
    def _se(cls, v: list | None) -> list | None:
        if v and any(not 0 <= r <= 1 for r in v):
            raise ValueError(f"SE ratios must lie in [0, 1], got {v}")
        return v


DEFAULT_STAGE = StageChoices(block=["plain"], depth=[1], width=[32], kernel=[3], dilation=[1],
                             downsample=["stride"], expansion=[6], se=[0.0], growth=[12])


class StemChoices(_Strict):
    width: list[int] = [16]
    kernel: list[int] = [3]
    stride: list[int] = [1]

    _lists = field_validator("width", "kernel", "stride", mode="before")(lambda cls, v: _as_list(v))

    @field_validator("width", "stride")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(x <= 0 for x in v):
            raise ValueError(f"must be positive, got {v}")
        return v

    @field_validator("kernel")
    @classmethod
    def _kernel(cls, v: list[int]) -> list[int]:
        if any(k <= 0 or k % 2 == 0 for k in v):
            raise ValueError(f"kernel sizes must be odd and positive, got {v}")
        return v


class HeadChoices(_Strict):
    dropout: list[float] = [0.0]

    _lists = field_validator("dropout", mode="before")(lambda cls, v: _as_list(v))


class SpaceSpec(_Strict):
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

    _lists = field_validator("ndim", "resolution", "width_mult", "num_stages", "activation", "norm",
                             mode="before")(lambda cls, v: _as_list(v))

    @field_validator("ndim")
    @classmethod
    def _ndim(cls, v: list[int]) -> list[int]:
        if not v or any(d not in (1, 2, 3) for d in v):
            raise ValueError(f"ndim must be a list of 1, 2 and/or 3, got {v}")
        return v

    @field_validator("num_stages")
    @classmethod
    def _num_stages(cls, v: list[int]) -> list[int]:
        if not v or any(n < 1 for n in v):
            raise ValueError(f"num_stages must be >= 1, got {v}")
        return v

    @field_validator("activation")
    @classmethod
    def _act(cls, v: list[str]) -> list[str]:
        return _check_members(v, ACTIVATIONS + ("swish",), "activation")

    @field_validator("norm")
    @classmethod
    def _norm(cls, v: list[str]) -> list[str]:
        return _check_members(v, NORMS, "normalisation")

    @field_validator("shared")
    @classmethod
    def _shared(cls, v: list[str]) -> list[str]:
        return _check_members(v, STAGE_FIELDS, "shared stage field")

    @field_validator("width_mult", "resolution")
    @classmethod
    def _pos(cls, v: list) -> list:
        if any(x is not None and x <= 0 for x in v):
            raise ValueError(f"must be positive, got {v}")
        return v

    @model_validator(mode="after")
    def _filled(self) -> SpaceSpec:
        # Fill the default stage from DEFAULT_STAGE so every field has choices.
        merged = {f: getattr(self.stage, f) or getattr(DEFAULT_STAGE, f) for f in STAGE_FIELDS}
        object.__setattr__(self, "stage", StageChoices(**merged))
        if len(self.stages) > max(self.num_stages):
            raise ValueError(
                f"stages lists {len(self.stages)} per-stage overrides but num_stages is at most "
                f"{max(self.num_stages)}"
            )
        if self.shared and self.stages:
            for i, st in enumerate(self.stages):
                for f in self.shared:
                    if getattr(st, f) is not None:
                        raise ValueError(f"stages[{i}].{f} overrides a field declared shared")
        if self.cardinality() == 1:
            raise ValueError("the space has no choices: every field has a single value")
        return self

    def stage_choices(self, index: int) -> StageChoices:
        """Effective choices at stage position ``index`` (defaults merged with overrides)."""
        over = self.stages[index] if index < len(self.stages) else StageChoices()
        return StageChoices(**{f: getattr(over, f) or getattr(self.stage, f) for f in STAGE_FIELDS})

    def cardinality(self) -> int:
        """Number of distinct architectures (conditional choices counted where they apply)."""
        glob = (len(self.resolution) * len(self.width_mult) * len(self.stem.width) * len(self.stem.kernel)
                * len(self.stem.stride) * len(self.activation) * len(self.norm) * len(self.head.dropout))
        shared = 1
        for f in self.shared:
            shared *= len(getattr(self.stage, f))
        total = 0
        for n in self.num_stages:
            prod = 1
            for i in range(n):
                prod *= _stage_cardinality(self.stage_choices(i), set(self.shared))
            total += prod
        return glob * shared * total


def _stage_cardinality(c: StageChoices, shared: set[str]) -> int:
    def n(field: str) -> int:
        return 1 if field in shared else len(getattr(c, field))

    base = n("depth") * n("width") * n("kernel") * n("dilation") * n("downsample")
    count = 0
    for block in (c.block if "block" not in shared else c.block[:1]):
        k = base
        if block == "inverted":
            k *= n("expansion")
        if block == "dense":
            k *= n("growth")
        if block in ("residual", "bottleneck", "inverted", "se"):
            k *= n("se")
        count += k
    return count


def load_space(path: str | Path) -> SpaceSpec:
    """Load and validate a space file; errors name the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: search space file not found.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_where(e)}).") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a search space file must be a YAML mapping.")
    data.setdefault("name", path.stem)
    return parse_space(data, str(path))


def parse_space(data: dict[str, Any], where: str = "space") -> SpaceSpec:
    try:
        return SpaceSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{where}: {first_error(e)}") from e


def first_error(e: ValidationError) -> str:
    """One sentence for the first validation error: field path and message."""
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"field '{loc}': {msg}."


def _yaml_where(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else str(e)
