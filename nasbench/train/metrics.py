"""What one epoch of training measured, as one typed record from the training loop to everyone
who listens to it: the trial's worker (and through it Ray Tune and the store), the study's curve
logger, and the supernet's checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nasbench.core.numbers import finite


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of one training: losses, validation accuracy and speed (None: not measured,
    e.g. no validation ran, or not finite)."""

    epoch: int  # 1-based
    train_loss: float | None
    val_loss: float | None
    val_acc: float | None
    epoch_time_s: float | None  # training and validation
    train_samples_per_s: float | None  # training time only

    def __post_init__(self) -> None:
        # NaN and infinity never travel: every listener reads None for "not measured".
        for name in _FLOATS:
            object.__setattr__(self, name, finite(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        """For a checkpoint, which outlives this release: plain names and numbers."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpochMetrics:
        """Read back ``to_dict`` (or a checkpoint of an earlier release, which held the same keys)."""
        return cls(epoch=int(d["epoch"]), **{k: d.get(k) for k in _FLOATS})


_FLOATS = ("train_loss", "val_loss", "val_acc", "epoch_time_s", "train_samples_per_s")
