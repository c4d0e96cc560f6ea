"""The in-memory data-set value every loader returns and every trainer consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from nasbench.data.preprocess import NativeInput, Preprocessing
from nasbench.errors import DataError


@dataclass(frozen=True, eq=False)
class ArrayDataset:
    """A whole classification data set held as arrays.

    ``x`` is ``(N, C, *spatial)`` (1, 2 or 3 spatial dims), uint8 or float32; ``y`` is int64
    labels in ``[0, num_classes)``. ``x_test``/``y_test`` hold the official test set when the
    data set has one; otherwise the split carves a test set from ``x``. ``preprocessing`` is how
    the loader made ``x`` (and ``x_test``) from the data set's native arrays; when not given, the
    arrays are their own native form.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    source: str = ""
    preprocessing: Preprocessing | None = None
    _hash: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        validate_arrays(self.x, self.y, self.num_classes, f"{self.source or self.name} (train)")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise DataError(
                f"{self.source or self.name}: {len(self.class_names)} class names for {self.num_classes} classes."
            )
        if (self.x_test is None) != (self.y_test is None):
            raise DataError(f"{self.source or self.name}: x_test and y_test must be given together.")
        if self.x_test is not None and self.y_test is not None:
            validate_arrays(self.x_test, self.y_test, self.num_classes, f"{self.source or self.name} (test)")
            if self.x_test.shape[1:] != self.x.shape[1:]:
                raise DataError(
                    f"{self.source or self.name}: test samples have shape {self.x_test.shape[1:]}, "
                    f"training samples {self.x.shape[1:]}."
                )
            if self.x_test.dtype != self.x.dtype:  # uint8 pixels are rescaled, float32 values are not
                raise DataError(
                    f"{self.source or self.name}: test samples are {self.x_test.dtype}, training samples "
                    f"{self.x.dtype}; store both as uint8 pixels or both as numbers of one kind."
                )

    @classmethod
    def with_test_set(
        cls,
        name: str,
        train: tuple[np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray],
        class_names: tuple[str, ...],
        source: str,
        preprocessing: Preprocessing,
    ) -> ArrayDataset:
        """A data set that comes with its official test set (``(x, y)`` pairs) and class names."""
        (x, y), (x_test, y_test) = train, test
        return cls(name, x, y, len(class_names), x_test, y_test, class_names, source, preprocessing)

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions (1, 2 or 3)."""
        return self.x.ndim - 2

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[1])

    @property
    def input_size(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x.shape[2:])

    def loading(self) -> Preprocessing:
        """The loader's steps from the native arrays to ``x`` (none when ``x`` is native)."""
        if self.preprocessing is not None:
            return self.preprocessing
        shape = ("N", *self.x.shape[1:])
        return Preprocessing(native=NativeInput(source=self.source or self.name, shape=shape, dtype=str(self.x.dtype)))

    @property
    def has_official_test(self) -> bool:
        return self.x_test is not None

    def content_hash(self) -> str:
        """sha256 of the arrays (provenance); computed once."""
        if not self._hash:
            h = hashlib.sha256()
            for a in (self.x, self.y, self.x_test, self.y_test):
                if a is not None:
                    h.update(str(a.shape).encode() + str(a.dtype).encode())
                    h.update(np.ascontiguousarray(a).tobytes())
            self._hash.append(h.hexdigest())
        return self._hash[0]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "ndim": self.ndim,
            "in_channels": self.in_channels,
            "input_size": list(self.input_size),
            "num_classes": self.num_classes,
            "train_size": len(self.y),
            "test_size": len(self.y_test) if self.y_test is not None else 0,
            "content_hash": self.content_hash(),
        }


def validate_arrays(x: np.ndarray, y: np.ndarray, num_classes: int, where: str) -> None:
    """Raise DataError naming ``where`` if x/y are inconsistent."""
    if x.ndim not in (3, 4, 5):
        raise DataError(f"{where}: samples must be (N, C, L), (N, C, H, W) or (N, C, D, H, W); got shape {x.shape}.")
    if x.dtype not in (np.uint8, np.float32):
        raise DataError(f"{where}: samples must be uint8 or float32, got {x.dtype}.")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: labels must be a 1-D integer array, got {y.dtype} of shape {y.shape}.")
    if len(x) != len(y):
        raise DataError(f"{where}: {len(x)} samples but {len(y)} labels.")
    if len(y) == 0:
        raise DataError(f"{where}: the data set is empty.")
    if num_classes < 2:
        raise DataError(f"{where}: a classification data set needs at least 2 classes, found {num_classes}.")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        raise DataError(f"{where}: labels must lie in [0, {num_classes - 1}], found {lo}..{hi}.")
