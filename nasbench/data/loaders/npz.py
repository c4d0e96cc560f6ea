"""Arrays from a NumPy ``.npz`` file: 1-D signals, 2-D images or 3-D volumes.

Keys: ``x`` and ``y`` (required), ``x_test`` and ``y_test`` (optional, together) and
``class_names`` (optional). ``channels`` says where the channel axis of ``x`` is:
``first`` (N, C, *spatial); ``last`` (N, *spatial, C); ``none`` (N, *spatial), one channel
is added; ``auto`` (default) reads (N, L) as 1-D single-channel signals, else as ``first``.
uint8 samples stay uint8, other numbers become float32.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.loaders._files import PathLike, data_file
from nasbench.data.preprocess import Cast, ExpandDims, MoveAxis, NativeInput, Preprocessing, Step
from nasbench.data.registry import register_dataset
from nasbench.errors import ConfigError, DataError

CHANNELS = ("auto", "first", "last", "none")
# Per `channels`: the ranks x may have (1 to 3 spatial dims), and the layout, for error messages.
_RANKS = {"auto": (2, 5), "first": (3, 5), "last": (3, 5), "none": (2, 4)}
_LAYOUTS = {
    "auto": "(N, L) or (N, C, *spatial)",
    "first": "(N, C, *spatial)",
    "last": "(N, *spatial, C)",
    "none": "(N, *spatial)",
}


def read_key(archive: np.lib.npyio.NpzFile, key: str, file: Path) -> np.ndarray:
    """One array from the archive; DataError naming file and key if it cannot be read."""
    try:
        return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{file}: key {key!r} cannot be read ({e}).") from e


def to_samples(x: np.ndarray, channels: str, file: Path, key: str) -> tuple[np.ndarray, Preprocessing]:
    """``x`` as (N, C, *spatial) with 1 to 3 spatial dims, uint8 kept, other numbers as float32;
    and the steps that made it from the file's array."""
    lo, hi = _RANKS[channels]
    if not lo <= x.ndim <= hi:
        raise DataError(
            f"{file}: key {key!r} has unsupported shape {x.shape}; with channels={channels!r} "
            f"it must be {_LAYOUTS[channels]} with 1 to 3 spatial dims."
        )
    if x.dtype != np.uint8 and x.dtype.kind not in "biuf":
        raise DataError(f"{file}: key {key!r} holds {x.dtype} values; samples must be numbers.")
    steps: list[Step] = []
    if channels == "none" or x.ndim == 2:
        steps.append(ExpandDims(axis=1))  # no channel axis in the file: add one
    elif channels == "last":
        steps.append(MoveAxis(source=-1, destination=1))
    if x.dtype != np.uint8:
        steps.append(Cast(dtype="float32"))
    native = NativeInput(source=file.name, arrays=(key,), shape=("N", *x.shape[1:]), dtype=str(x.dtype))
    prep = Preprocessing(native=native, steps=tuple(steps))
    x = np.ascontiguousarray(prep.apply(x))
    if x.dtype != np.uint8 and not np.isfinite(x).all():
        raise DataError(f"{file}: key {key!r} holds NaN or infinite values.")
    return x, prep


def to_labels(y: np.ndarray, n: int, file: Path, key: str) -> np.ndarray:
    """``y`` as int64 (N,); whole-valued floats are accepted, fractions and negatives are not."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # a column vector, as MATLAB and pandas exports often write labels
    if y.ndim != 1:
        raise DataError(f"{file}: key {key!r} must be a 1-D array of labels, got shape {y.shape}.")
    if len(y) != n:
        raise DataError(f"{file}: key {key!r} holds {len(y)} labels for {n} samples.")
    if y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and not np.array_equal(y, np.round(y))):
        raise DataError(f"{file}: key {key!r} must hold integer class labels, found {y.dtype} values.")
    if len(y) and y.min() < 0:
        raise DataError(f"{file}: key {key!r} holds a negative label ({y.min()}); labels start at 0.")
    return y.astype(np.int64)


def count_classes(labels: dict[str, np.ndarray], num_classes: int | None, file: Path) -> int:
    """``num_classes`` if given (checked against the labels), else the largest label + 1."""
    tops = {key: int(y.max()) for key, y in labels.items() if len(y)}
    if num_classes is None:
        return max(tops.values(), default=0) + 1
    for key, top in tops.items():
        if top >= num_classes:
            raise DataError(f"{file}: key {key!r} holds label {top}, out of range for num_classes={num_classes}.")
    return num_classes


def read_class_names(archive: np.lib.npyio.NpzFile, file: Path, num_classes: int) -> tuple[str, ...]:
    if "class_names" not in archive.files:
        return ()
    names = read_key(archive, "class_names", file)
    if names.ndim != 1 or len(names) != num_classes:
        raise DataError(f"{file}: key 'class_names' must list {num_classes} names, got shape {names.shape}.")
    return tuple(str(n) for n in names)


def _check_options(channels: str, num_classes: int | None) -> None:
    if channels not in CHANNELS:
        raise ConfigError(f"npz channels must be one of {', '.join(CHANNELS)}, got {channels!r}.")
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
        raise ConfigError(f"npz num_classes must be an int of at least 2, got {num_classes!r}.")


# How numpy.load tells its formats apart: a zip archive (.npz) or an .npy array; anything else it
# takes for pickled data, and with pickles refused says so, which misleads about a corrupt file.
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", np.lib.format.MAGIC_PREFIX)


def _open(file: Path) -> np.lib.npyio.NpzFile:
    try:
        with file.open("rb") as f:
            head = f.read(len(np.lib.format.MAGIC_PREFIX))
        archive = np.load(file, allow_pickle=False) if head.startswith(_MAGIC) else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{file}: cannot be read as an .npz file ({e}).") from e
    if archive is None:
        raise DataError(f"{file}: not a valid .npz archive (not a zip file); write it with numpy.savez.")
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{file}: holds a single .npy array, not an .npz archive with keys 'x' and 'y'.")
    return archive


def check_keys(archive: np.lib.npyio.NpzFile, file: Path) -> None:
    """``x`` and ``y`` are required; ``x_test`` and ``y_test`` come together or not at all."""
    keys = set(archive.files)
    for key in ("x", "y"):
        if key not in keys:
            raise DataError(f"{file}: key {key!r} is missing; found {sorted(keys)}.")
    if ("x_test" in keys) != ("y_test" in keys):
        given, missing = ("x_test", "y_test") if "x_test" in keys else ("y_test", "x_test")
        raise DataError(f"{file}: key {given!r} is given without {missing!r}; give both or neither.")


def read_parts(archive: np.lib.npyio.NpzFile, file: Path, channels: str) -> tuple[dict[str, np.ndarray], Preprocessing]:
    """The checked arrays ``x``, ``y`` and, when present, ``x_test``, ``y_test``; and how ``x``
    was made from the file's array (``x_test`` takes the same steps)."""
    parts, preps = {}, {}
    for xk, yk in (("x", "y"), ("x_test", "y_test")):
        if xk in archive.files:
            x, preps[xk] = to_samples(read_key(archive, xk, file), channels, file, xk)
            parts[xk], parts[yk] = x, to_labels(read_key(archive, yk, file), len(x), file, yk)
    if "x_test" in parts and parts["x_test"].shape[1:] != parts["x"].shape[1:]:
        raise DataError(
            f"{file}: key 'x_test' has samples of shape {parts['x_test'].shape[1:]}, key 'x' {parts['x'].shape[1:]}."
        )
    native = preps["x"].native.model_copy(update={"arrays": tuple(preps)})
    return parts, preps["x"].model_copy(update={"native": native})


@register_dataset("npz")
def load_npz(path: PathLike, channels: str = "auto", num_classes: int | None = None) -> ArrayDataset:
    """Arrays ``x``, ``y`` (and ``x_test``, ``y_test``) from an .npz; see the module docstring."""
    _check_options(channels, num_classes)
    file = data_file(path, ".npz")
    with _open(file) as archive:
        check_keys(archive, file)
        parts, preprocessing = read_parts(archive, file, channels)
        n_classes = count_classes({k: parts[k] for k in ("y", "y_test") if k in parts}, num_classes, file)
        class_names = read_class_names(archive, file, n_classes)
    return ArrayDataset(
        name="npz",
        x=parts["x"],
        y=parts["y"],
        x_test=parts.get("x_test"),
        y_test=parts.get("y_test"),
        num_classes=n_classes,
        class_names=class_names,
        source=str(file),
        preprocessing=preprocessing,
    )
