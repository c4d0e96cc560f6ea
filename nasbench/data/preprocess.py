"""The preprocessing from a data set's native arrays to the tensor a network sees, as a typed record.

A loader turns the arrays a data set comes as (scikit-learn's ``load_digits().images``, IDX
files, CIFAR pickles, an .npz, decoded image files) into ``ArrayDataset.x`` by applying its
``Preprocessing``; the data module then casts, rescales, resizes and normalises. Both halves are
written down as steps, so an exported model's metadata says every step a user must repeat, in
JSON that names each operation and its parameters (and the NumPy line that performs it).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, computed_field


class _Step(BaseModel):
    # extra="ignore": metadata files carry each step's `numpy` line, which is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)
    _numpy: ClassVar[str]  # the step as one line of NumPy on x, formatted with the step's fields

    @abstractmethod
    def apply(self, x: np.ndarray) -> np.ndarray:
        """The step on an array (pydantic's model metaclass is an ABCMeta: _Step is not instantiable)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def numpy(self) -> str:
        return self._numpy.format(**dict(self))


class Reshape(_Step):
    """``x.reshape(shape)``; -1 stands for the number of samples."""

    op: Literal["reshape"] = "reshape"
    shape: tuple[int, ...]
    _numpy = "x = x.reshape({shape})"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape)


class ExpandDims(_Step):
    """A new axis of length 1 (the channel axis) at ``axis``."""

    op: Literal["expand_dims"] = "expand_dims"
    axis: int
    _numpy = "x = np.expand_dims(x, {axis})"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.expand_dims(x, self.axis)


class MoveAxis(_Step):
    """The axis at ``source`` moved to ``destination`` (channels-last to channels-first)."""

    op: Literal["moveaxis"] = "moveaxis"
    source: int
    destination: int
    _numpy = "x = np.moveaxis(x, {source}, {destination})"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.moveaxis(x, self.source, self.destination)


class Multiply(_Step):
    """``x * factor`` in the array's own floating-point precision (float64 for digits)."""

    op: Literal["multiply"] = "multiply"
    factor: float
    _numpy = "x = x * {factor!r}"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x * self.factor


class Divide(_Step):
    """``x / divisor`` in the array's own floating-point precision (float32 after a cast)."""

    op: Literal["divide"] = "divide"
    divisor: float
    _numpy = "x = x / x.dtype.type({divisor!r})"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x / x.dtype.type(self.divisor)


class Round(_Step):
    """Round to the nearest whole number, halves to even (``numpy.round``)."""

    op: Literal["round"] = "round"
    _numpy = "x = np.round(x)"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.round(x)


class Cast(_Step):
    """Convert to ``dtype`` (values are already in its range)."""

    op: Literal["cast"] = "cast"
    dtype: Literal["uint8", "float32"]
    _numpy = "x = x.astype(np.{dtype})"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)


class Resize(_Step):
    """Every spatial axis (after N and C) resized to ``size`` by (bi/tri)linear interpolation with
    half-pixel centres, edges clamped, no antialiasing: ``torch.nn.functional.interpolate(mode=
    'linear'|'bilinear'|'trilinear', align_corners=False)``, ONNX ``Resize(mode='linear',
    coordinate_transformation_mode='half_pixel')``."""

    op: Literal["resize"] = "resize"
    size: tuple[int, ...]
    mode: Literal["linear"] = "linear"
    coordinate_transformation: Literal["half_pixel"] = "half_pixel"
    antialias: bool = False
    _numpy = (
        "for each spatial axis (2, 3, ...) of length n to {size}[axis - 2] = m: "
        "src = max((arange(m) + 0.5) * n / m - 0.5, 0); i0 = floor(src); i1 = min(i0 + 1, n - 1); "
        "w = src - i0; x = take(x, i0, axis) * (1 - w) + take(x, i1, axis) * w"
    )

    def apply(self, x: np.ndarray) -> np.ndarray:
        for axis, size in enumerate(self.size, start=2):
            x = _resize_axis(x, axis, size)
        return x


def _resize_axis(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    n = x.shape[axis]
    if n == size:
        return x
    src = np.maximum((np.arange(size, dtype=np.float64) + 0.5) * (n / size) - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1] * x.ndim
    shape[axis] = size
    w = (src - i0).astype(x.dtype).reshape(shape)
    a, b = np.take(x, i0, axis=axis), np.take(x, i1, axis=axis)
    return (a * (1 - w) + b * w).astype(x.dtype)


class Normalize(_Step):
    """``(x - mean[c]) / std[c]`` per channel c along ``axis``, in float32 (the training split's
    statistics, after any resize)."""

    op: Literal["normalize"] = "normalize"
    mean: tuple[float, ...]
    std: tuple[float, ...]
    axis: int = 1
    _numpy = "x = (x - float32(mean)[c]) / float32(std)[c] for each channel c along axis {axis}"

    def apply(self, x: np.ndarray) -> np.ndarray:
        shape = [1] * x.ndim
        shape[self.axis] = -1
        mean = np.asarray(self.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(self.std, dtype=np.float32).reshape(shape)
        return (x - mean) / std


Step = Annotated[
    Reshape | ExpandDims | MoveAxis | Multiply | Divide | Round | Cast | Resize | Normalize,
    Field(discriminator="op"),
]


class ImageDecode(BaseModel):
    """How each image file becomes an array, before the steps (image folders only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    library: Literal["Pillow"] = "Pillow"
    mode: Literal["L", "RGB"]  # single-channel grey (H, W) or RGB (H, W, 3), uint8
    size: tuple[int, int] | None = None  # (height, width) every image is resized to, if any
    resample: Literal["bilinear"] = "bilinear"  # Pillow's Image.Resampling.BILINEAR
    conversion: str = (
        "each file to 8 bits: grey ('1', 'L', 'LA') as .convert('L'), 16-bit grey ('I') as "
        "round(value / 257), anything else as .convert('RGB') (as 'L' if a palette image uses only "
        "grey levels); then resized to size (if given) with resample; then to mode: grey repeated "
        "to 3 channels for 'RGB', RGB as .convert('L') for 'L'; then numpy.asarray"
    )


class NativeInput(BaseModel):
    """The arrays a data set comes as, which the first step takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # how to obtain them, e.g. "sklearn.datasets.load_digits()"
    arrays: tuple[str, ...] = ()  # which of the source's arrays are samples, e.g. ("images", "data")
    shape: tuple[int | str, ...] = ()  # of one array, "N" for the number of samples
    dtype: str = ""
    value_range: tuple[float, float] | None = None  # the values the data set uses
    decode: ImageDecode | None = None


class Preprocessing(BaseModel):
    """``native`` arrays through ``steps``, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    native: NativeInput
    steps: tuple[Step, ...] = ()

    def apply(self, x: np.ndarray) -> np.ndarray:
        for step in self.steps:
            x = step.apply(x)
        return x

    def then(self, *steps: Step) -> Preprocessing:
        return Preprocessing(native=self.native, steps=(*self.steps, *steps))
