"""The Architecture value: what one sampled network is, independent of how it was sampled.

Immutable, JSON round-trippable, with a canonical digest: choices that do not apply to a block
type (an expansion ratio on a residual stage, say) are dropped, so two samples that build the
same network hash equal whatever order or path produced them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

BLOCK_TYPES = ("plain", "residual", "bottleneck", "inverted", "se", "dense")
DOWNSAMPLES = ("none", "stride", "pool")
ACTIVATIONS = ("relu", "silu", "gelu", "hswish")
NORMS = ("batch", "group")
SE_BLOCKS = ("residual", "bottleneck", "inverted", "se")  # blocks that take an SE ratio
DEFAULT_SE_RATIO = 0.25


@dataclass(frozen=True)
class Stage:
    """One stage: ``depth`` blocks of one type at one width.

    The stage downsamples (by 2) at its start when ``downsample`` is ``stride`` (first block
    strided; dense stages pool instead) or ``pool`` (max-pool before the first block).
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

    def canonical(self) -> Stage:
        """The same stage with non-applicable choices dropped and defaults filled."""
        se = self.se_ratio if self.block in SE_BLOCKS else None
        if self.block == "se" and se is None:
            se = DEFAULT_SE_RATIO
        return replace(
            self,
            expansion=self.expansion if self.block == "inverted" else None,
            growth=self.growth if self.block == "dense" else None,
            se_ratio=float(se) if se else None,
        )


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
    extra: tuple[tuple[str, Any], ...] = field(default=())  # free-form tags, hashed too

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(s.canonical() for s in self.stages))

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
        stages = tuple(Stage(**s) for s in d.pop("stages"))
        extra = tuple(sorted((d.pop("extra", None) or {}).items()))
        return cls(stages=stages, extra=extra, **d)

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
        abbrev = {"plain": "conv", "residual": "res", "bottleneck": "bot", "inverted": "inv",
                  "se": "se", "dense": "dense"}
        parts = [f"s{self.stem_width}" + (f"/{self.stem_stride}" if self.stem_stride > 1 else "")]
        for s in self.stages:
            t = f"{abbrev[s.block]}{s.depth}x{s.width}k{s.kernel}"
            if s.dilation > 1:
                t += f"d{s.dilation}"
            if s.expansion:
                t += f"e{s.expansion}"
            if s.growth:
                t += f"g{s.growth}"
            if s.se_ratio and s.block != "se":
                t += f"se{s.se_ratio:g}".replace("0.", ".")
            if s.downsample == "stride":
                t += "/2"
            elif s.downsample == "pool":
                t += "/p"
            parts.append(t)
        tail = f"{self.activation} {'bn' if self.norm == 'batch' else 'gn'}"
        if self.head_dropout:
            tail += f" drop{self.head_dropout:g}"
        if self.resolution:
            tail += f" {self.resolution}px"
        parts.append(tail)
        return " > ".join(parts)
