"""What a study trains on, named once: ``DataSpec`` loads, splits and checks the content hash.

Every part that needs the data of a study (the search, baselines, export, tabular benchmarks,
proxies) goes through ``DataSpec.load()``: one loader, one split, one hash check.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nasbench.data.dataset import ArrayDataset
from nasbench.data.split import Split, make_split
from nasbench.errors import ConfigError, DataError


class DataSpec(BaseModel):
    """A data set by name with its loader options and the seeded split a study uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    options: dict[str, Any] = Field(default_factory=dict)  # loader options, e.g. {path: ...}
    val_size: float = Field(0.1, gt=0)  # fraction (< 1) or count of training samples
    test_size: float = Field(0.2, gt=0)  # used only when the data set has no official test set
    split_seed: int = 0

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        from nasbench.data.registry import dataset_names

        names = dataset_names()
        if v not in names:
            raise ValueError(f"unknown data set {v!r}; choose one of: {', '.join(names)}")
        return v

    def check_options(self) -> None:
        """Refuse an option the data set's loader does not take, naming the ones it does."""
        from nasbench.data.registry import loader

        params = inspect.signature(loader(self.name)).parameters
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        for key in self.options:
            if key not in params:
                takes = ", ".join(params) or "no options"
                raise ConfigError(
                    f"field 'data.options': data set {self.name} has no option {key!r} (it takes: {takes})."
                )

    def load(self, expect_hash: str | None = None) -> Task:
        """Load and split the data; with ``expect_hash``, refuse data whose content changed."""
        from nasbench.data.registry import load_dataset

        self.check_options()
        dataset = load_dataset(self.name, **self.options)
        if expect_hash is not None and dataset.content_hash() != expect_hash:
            raise DataError(
                f"data set {self.name!r} now has content sha256 {dataset.content_hash()[:12]}, "
                f"but the results were measured on {expect_hash[:12]}; they cannot be compared "
                "with runs on other data."
            )
        split = make_split(dataset, self.val_size, self.test_size, self.split_seed)
        return Task(self, dataset, split)


@dataclass(frozen=True)
class DataShape:
    """What a network must fit: input channels, classes and the native spatial size."""

    in_channels: int
    num_classes: int
    input_size: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    def spatial(self, resolution: int | None) -> tuple[int, ...]:
        """The spatial size a network sees at ``resolution`` (None: the native size)."""
        return self.input_size if resolution is None else (resolution,) * self.ndim


@dataclass(frozen=True)
class DatasetInfo:
    """A data set as the results store records it (``ArrayDataset.describe()``)."""

    name: str
    source: str
    ndim: int
    in_channels: int
    input_size: tuple[int, ...]
    num_classes: int
    train_size: int
    test_size: int
    content_hash: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetInfo:
        return cls(
            name=d["name"],
            source=d.get("source", ""),
            ndim=int(d["ndim"]),
            in_channels=int(d["in_channels"]),
            input_size=tuple(d["input_size"]),
            num_classes=int(d["num_classes"]),
            train_size=int(d.get("train_size", 0)),
            test_size=int(d.get("test_size", 0)),
            content_hash=d.get("content_hash", ""),
        )

    @property
    def shape(self) -> DataShape:
        return DataShape(self.in_channels, self.num_classes, self.input_size)


@dataclass(frozen=True)
class SplitInfo:
    """A split as the results store records it: sizes and how it was made."""

    train: int
    val: int
    test: int
    test_is_official: bool
    val_size: float | None = None
    split_seed: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitInfo:
        return cls(
            train=int(d["train"]),
            val=int(d["val"]),
            test=int(d["test"]),
            test_is_official=bool(d.get("test_is_official")),
            val_size=d.get("val_size"),
            split_seed=d.get("split_seed"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "train": self.train,
            "val": self.val,
            "test": self.test,
            "test_is_official": self.test_is_official,
            "val_size": self.val_size,
            "split_seed": self.split_seed,
        }


@dataclass(frozen=True, eq=False)
class Task:
    """A loaded data set with the split of its ``DataSpec``: what trainings and proxies consume."""

    spec: DataSpec
    dataset: ArrayDataset
    split: Split

    @property
    def shape(self) -> DataShape:
        d = self.dataset
        return DataShape(d.in_channels, d.num_classes, d.input_size)

    @property
    def content_hash(self) -> str:
        return self.dataset.content_hash()

    def info(self) -> DatasetInfo:
        return DatasetInfo.from_dict(self.dataset.describe())

    def split_info(self) -> SplitInfo:
        s = self.split
        return SplitInfo(
            len(s.train), len(s.val), len(s.test), s.test_is_official, self.spec.val_size, self.spec.split_seed
        )

    def train_batch(self, batch_size: int, seed: int, resolution: int | None = None) -> tuple[Any, Any]:
        """A seeded batch of the training split, normalised as training normalises it (zero-cost
        proxies score networks on it)."""
        import numpy as np

        from nasbench.data.module import TensorDataModule

        dm = TensorDataModule(self.dataset, self.split, resolution=resolution, seed=seed)
        dm.setup("fit")
        x, y = dm.tensors["train"]
        if not 2 <= batch_size <= len(y):
            raise ConfigError(f"batch size for proxies must lie in [2, {len(y)}], got {batch_size}.")
        idx = np.sort(np.random.default_rng(seed).choice(len(y), size=batch_size, replace=False))
        return x[idx], y[idx]
