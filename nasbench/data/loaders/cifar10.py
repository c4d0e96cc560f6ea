"""CIFAR-10 from its standard python-pickle folder ``cifar-10-batches-py`` (never downloaded)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.loaders._files import PathLike, data_dir
from nasbench.data.preprocess import NativeInput, Preprocessing, Reshape
from nasbench.data.registry import register_dataset
from nasbench.errors import DataError

ENV_VAR = "NASBENCH_CIFAR10_DIR"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
_PIXELS = 3 * 32 * 32
# Each row is the red, then green, then blue 32x32 plane, row-major.
PREPROCESSING = Preprocessing(
    native=NativeInput(
        source=f"the {FOLDER_NAME} pickles' b'data' entries (data_batch_1..5, test_batch)",
        arrays=("data",),
        shape=("N", _PIXELS),
        dtype="uint8",
        value_range=(0.0, 255.0),
    ),
    steps=(Reshape(shape=(-1, 3, 32, 32)),),
)

# The only globals a CIFAR batch needs (numpy arrays, and bytes as pickled by Python 3).
# Anything else is refused: unpickling an arbitrary file could otherwise run code.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        # Old files name numpy.core, which numpy 2 only keeps as a deprecated alias.
        return super().find_class(*_ALLOWED_GLOBALS[(module, name)])


def read_pickle(path: Path) -> dict[str, Any]:
    """One CIFAR pickle as a dict with str keys (the files use bytes keys)."""
    if not path.is_file():
        raise DataError(f"{path}: CIFAR-10 file not found; the folder must hold {FOLDER_NAME}'s 7 files.")
    try:
        with open(path, "rb") as f:
            data = _BatchUnpickler(f, encoding="bytes").load()
    except Exception as e:
        raise DataError(f"{path}: not a readable CIFAR-10 pickle ({type(e).__name__}: {e}).") from e
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(data).__name__}.")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in data.items()}


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and int64 labels from one batch file."""
    batch = read_pickle(path)
    for key in ("data", "labels"):
        if key not in batch:
            raise DataError(f"{path}: no {key!r} entry; not a CIFAR-10 batch.")
    data, labels = batch["data"], np.asarray(batch["labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (N, {_PIXELS}).")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: 'labels' must hold one integer per image ({len(data)}).")
    return PREPROCESSING.apply(data), labels.astype(np.int64)


def read_class_names(path: Path) -> tuple[str, ...]:
    names = read_pickle(path).get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(f"{path}: 'label_names' must list the 10 class names.")
    return tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)


def find_folder(path: PathLike | None) -> Path:
    """The batches folder: the one given (or $NASBENCH_CIFAR10_DIR), or its cifar-10-batches-py."""
    folder = data_dir(path, ENV_VAR, f"CIFAR-10 ({FOLDER_NAME})")
    nested = folder / FOLDER_NAME
    return nested if nested.is_dir() and not (folder / TEST_BATCH).exists() else folder


@register_dataset("cifar10")
def load_cifar10(path: PathLike | None = None) -> ArrayDataset:
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, 10 classes."""
    folder = find_folder(path)
    class_names = read_class_names(folder / META)
    batches = [read_batch(folder / name) for name in TRAIN_BATCHES]
    train = np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])
    test = read_batch(folder / TEST_BATCH)
    return ArrayDataset.with_test_set("cifar10", train, test, class_names, str(folder), PREPROCESSING)
