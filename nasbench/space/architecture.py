"""The Architecture value: what one sampled network is, independent of how it was sampled.

Immutable, JSON round-trippable, with a canonical digest. Values are canonical from the moment
they are made: a choice that cannot change the network (an expansion ratio on a residual stage,
an SE ratio of 0, ``stride`` on a dense stage, which always pools) is normalised away, so two
samples that build the same network are equal and hash equal, whatever order or path chose them.
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

from nasbench.errors import ConfigError

BLOCK_TYPES = ("plain", "residual", "bottleneck", "inverted", "se", "dense")
DOWNSAMPLES = ("none", "stride", "pool")
ACTIVATIONS = ("relu", "relu6", "silu", "gelu", "hswish")
ACTIVATION_ALIASES = {"swish": "silu"}  # the same function under another name
NORMS = ("batch", "group")
SE_BLOCKS = ("residual", "bottleneck", "inverted", "se")  # blocks that take an SE ratio
DEFAULT_SE_RATIO = 0.25  # the se block's ratio when none (or 0) is chosen


def applies(block: str, name: str) -> bool:
    """Whether a stage of type ``block`` uses its field ``name`` (conditional choices)."""
    if name == "expansion":
        return block == "inverted"
    if name == "growth":
        return block == "dense"
    if name == "se_ratio":
        return block in SE_BLOCKS
    return True


def canonical_choice(block: str, name: str, value: Any) -> Any:
    """The value a stage of type ``block`` keeps for its field ``name``: None where the field
    does not apply, and one value for choices that build the same network."""
    if not applies(block, name):
        return None
    if name == "se_ratio":
        if block == "se" and not value:
            return DEFAULT_SE_RATIO  # an se block without SE would be a plain block
        return float(value) if value else None
    if name == "downsample" and block == "dense" and value == "stride":
        return "pool"  # dense stages downsample by average pooling either way (DenseNet)
    return value


def _integer(where: str, name: str, value: Any, minimum: int) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise ConfigError(f"{where} field '{name}': must be an integer, got {value!r}.") from None
    if number < minimum:
        raise ConfigError(f"{where} field '{name}': must be at least {minimum}, got {number}.")
    return number


def _odd_kernel(where: str, name: str, value: Any) -> int:
    kernel = _integer(where, name, value, 1)
    if kernel % 2 == 0:
        raise ConfigError(f"{where} field '{name}': kernel sizes must be odd (same padding), got {kernel}.")
    return kernel


def _member(where: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{where} field '{name}': unknown value {value!r}; choose from {', '.join(allowed)}.")
    return value


@dataclass(frozen=True)
class Stage:
    """One stage: ``depth`` blocks of one type at one width.

    The stage downsamples (by 2) at its start when ``downsample`` is ``stride`` (first block
    strided) or ``pool`` (max-pool before the first block); dense stages average-pool for both.
    """

    block: str
    depth: int
    width: int
    kernel: int = 3
    dilation: int = 1
    downsample: str = "none"
    expansion: int | None = None  # inverted only: hidden = in_channels * expansion
    se_ratio: float | None = None  # SE reduction on residual/bottleneck/inverted; the se block's own
    growth: int | None = None  # dense only: channels each dense layer adds

    def __post_init__(self) -> None:
        where = "stage"
        block = _member(where, "block", self.block, BLOCK_TYPES)
        checked = {
            "depth": _integer(where, "depth", self.depth, 0),
            "width": _integer(where, "width", self.width, 1),
            "kernel": _odd_kernel(where, "kernel", self.kernel),
            "dilation": _integer(where, "dilation", self.dilation, 1),
            "downsample": _member(where, "downsample", self.downsample, DOWNSAMPLES),
            "expansion": None if self.expansion is None else _integer(where, "expansion", self.expansion, 1),
            "growth": None if self.growth is None else _integer(where, "growth", self.growth, 1),
            "se_ratio": self.se_ratio,
        }
        if self.se_ratio is not None and not 0 <= self.se_ratio <= 1:
            raise ConfigError(f"stage field 'se_ratio': must lie in [0, 1], got {self.se_ratio}.")
        for name, value in checked.items():
            object.__setattr__(self, name, canonical_choice(block, name, value))


@dataclass(frozen=True)
class Architecture:
    """A whole network: stem, stages, head and global choices."""

    stages: tuple[Stage, ...]
    stem_width: int = 16
    stem_kernel: int = 3
    stem_stride: int = 1
    activation: str = "relu"
    norm: str = "batch"
    head_dropout: float = 0.0
    resolution: int | None = None  # input resized to this (per spatial dim); None keeps it
    head_width: int = 0  # a 1x1 conv-norm-act to this many channels before the pool; 0: none
    extra: tuple[tuple[str, Any], ...] = field(default=())  # free-form tags, hashed too

    def __post_init__(self) -> None:
        where = "architecture"
        set_ = object.__setattr__
        set_(self, "stages", tuple(self.stages))
        if not all(isinstance(s, Stage) for s in self.stages):
            raise ConfigError(f"{where} field 'stages': must be a list of Stage values.")
        set_(self, "stem_width", _integer(where, "stem_width", self.stem_width, 1))
        set_(self, "stem_kernel", _odd_kernel(where, "stem_kernel", self.stem_kernel))
        set_(self, "stem_stride", _integer(where, "stem_stride", self.stem_stride, 1))
        activation = ACTIVATION_ALIASES.get(self.activation, self.activation)
        set_(self, "activation", _member(where, "activation", activation, ACTIVATIONS))
        set_(self, "norm", _member(where, "norm", self.norm, NORMS))
        if not 0 <= self.head_dropout < 1:
            raise ConfigError(f"{where} field 'head_dropout': must lie in [0, 1), got {self.head_dropout}.")
        set_(self, "head_dropout", float(self.head_dropout))
        if self.resolution is not None:
            set_(self, "resolution", _integer(where, "resolution", self.resolution, 1))
        set_(self, "head_width", _integer(where, "head_width", self.head_width, 0))
        set_(self, "extra", tuple(sorted(tuple(pair) for pair in self.extra)))

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stages"] = [{k: v for k, v in asdict(s).items() if v is not None} for s in self.stages]
        d["extra"] = dict(self.extra)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Architecture:
        d = dict(d)
        try:
            stages = tuple(Stage(**s) for s in d.pop("stages"))
            extra = tuple((d.pop("extra", None) or {}).items())
            return cls(stages=stages, extra=extra, **d)
        except (KeyError, TypeError) as e:
            raise ConfigError(f"architecture: missing or unknown field ({e}).") from e

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        return cls.from_dict(json.loads(text))

    def digest(self) -> str:
        """sha256 of the canonical JSON: equal networks, equal digests."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    # --- description ---------------------------------------------------------------------
    @property
    def num_downsamples(self) -> int:
        return (1 if self.stem_stride > 1 else 0) + sum(s.downsample != "none" for s in self.stages)

    def summary(self) -> str:
        """Short human-readable form, e.g. ``s16 > res2x32k3 > inv1x64k5e6se.25/2 > relu bn``."""
        parts = [
            f"s{self.stem_width}"
            + (f"k{self.stem_kernel}" if self.stem_kernel != 3 else "")
            + (f"/{self.stem_stride}" if self.stem_stride > 1 else "")
        ]
        parts += [_stage_summary(s) for s in self.stages]
        tail = f"{self.activation} {'bn' if self.norm == 'batch' else 'gn'}"
        if self.head_width:
            tail += f" head{self.head_width}"
        if self.head_dropout:
            tail += f" drop{self.head_dropout:g}"
        if self.resolution:
            tail += f" {self.resolution}px"
        parts.append(tail)
        return " > ".join(parts)


_ABBREV = {"plain": "conv", "residual": "res", "bottleneck": "bot", "inverted": "inv", "se": "se", "dense": "dense"}


def _stage_summary(s: Stage) -> str:
    t = f"{_ABBREV[s.block]}{s.depth}x{s.width}k{s.kernel}"
    if s.dilation > 1:
        t += f"d{s.dilation}"
    if s.expansion:
        t += f"e{s.expansion}"
    if s.growth:
        t += f"g{s.growth}"
    if s.se_ratio and (s.block != "se" or s.se_ratio != DEFAULT_SE_RATIO):
        t += f"se{s.se_ratio:g}".replace("0.", ".")
    return t + {"none": "", "stride": "/2", "pool": "/p"}[s.downsample]
