"""Fashion-MNIST from IDX files (gzip or not): Debian's `dataset-fashion-mnist` or a folder."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.registry import register_dataset
from nasbench.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_FILES = {
    "x": "train-images-idx3-ubyte",
    "y": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def default_dir() -> Path:
    """The folder searched when none is given: $NASBENCH_FASHION_MNIST_DIR, else Debian's."""
    return Path(os.environ.get("NASBENCH_FASHION_MNIST_DIR", DEBIAN_DIR))


def find_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"{folder}: no {stem}[.gz] found; install Debian's dataset-fashion-mnist "
        "or give the folder that holds the IDX files."
    )


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (unsigned-byte data), gzip-compressed or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot be read as an IDX file ({e}).") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number).")
    ndims = raw[3]
    header = 4 + 4 * ndims
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndims))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{path}: IDX header promises {expected} bytes of data, file holds {len(raw) - header}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@register_dataset("fashion_mnist")
def load_fashion_mnist(path: str | None = None) -> ArrayDataset:
    folder = Path(path) if path else default_dir()
    if not folder.is_dir():
        raise DataError(
            f"{folder}: Fashion-MNIST folder not found; install Debian's dataset-fashion-mnist "
            "or set data.path to the folder with the IDX files."
        )
    arrays = {key: read_idx(find_file(folder, stem)) for key, stem in _FILES.items()}
    return ArrayDataset(
        name="fashion_mnist",
        x=arrays["x"][:, None, :, :],
        y=arrays["y"].astype(np.int64),
        x_test=arrays["x_test"][:, None, :, :],
        y_test=arrays["y_test"].astype(np.int64),
        num_classes=10,
        class_names=CLASS_NAMES,
        source=str(folder),
    )
