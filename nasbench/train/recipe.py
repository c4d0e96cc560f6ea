"""The training recipe and fidelity: typed values a study file sets and trials receive."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from nasbench.core.durations import Seconds, written

# A learning rate that suits each optimizer when the study gives none: SGD needs one an order
# of magnitude larger than AdamW's.
DEFAULT_LR = {"adamw": 3e-3, "sgd": 5e-2}


class Recipe(BaseModel):
    """How a network is trained. Defaults are a sound recipe for small CNNs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(DEFAULT_LR["adamw"], gt=0)  # default: DEFAULT_LR of the optimizer
    weight_decay: float = Field(5e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd only (Nesterov)
    warmup_epochs: float = Field(0.5, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    mixup_alpha: float = Field(0.0, ge=0)
    cutmix_alpha: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(None, gt=0)
    batch_size: int = Field(128, gt=0)
    crop_padding: int = Field(0, ge=0)
    flip: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_lr(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lr" not in data and data.get("optimizer") in DEFAULT_LR:
            return {**data, "lr": DEFAULT_LR[data["optimizer"]]}
        return data


class Fidelity(BaseModel):
    """How much training one evaluation gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(3, gt=0)
    train_fraction: float = Field(1.0, gt=0, le=1)
    resolution: int | None = Field(None, gt=0)  # resize inputs; None = native (or the architecture's)
    # Train on the validation split too, and measure no validation figure: a final re-training
    # after the choice was made on validation (the "refit" of scikit-learn's searches). On a small
    # data set those signals are worth having in training: MNIST-1D's 500 are 1 in 8.
    train_on_val: bool = False
    # Seconds one training (with its test) may take: it trains as many of ``epochs`` as fit at the
    # pace it measures over its first steps, at least one, its schedule over those (a final stage
    # that must end in time; "35m", "1h", "90s" accepted). None: all ``epochs``, however long; it
    # is then left out of the stored form, which stays what studies without it have written.
    time: Seconds | None = Field(None, gt=0)

    @model_serializer(mode="wrap")
    def _stored_form(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.time is None:
            data.pop("time", None)
        return data

    def epochs_words(self) -> str:
        """e.g. ``12 epochs``, or ``up to 12 epochs, as many as fit in 35 min``."""
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if self.time is None:
            return epochs
        return f"up to {epochs}, as many as fit in {written(self.time)} each"

    def same_as(self, stored: dict[str, Any]) -> bool:
        """Whether a fidelity as the store keeps it (JSON) is this one; fields added since it was
        written take their defaults."""
        return type(self).model_validate(stored) == self
