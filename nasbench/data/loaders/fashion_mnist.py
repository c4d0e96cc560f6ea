"""Fashion-MNIST from IDX files (gzip or not): Debian's `dataset-fashion-mnist` or a folder.

``train_size`` keeps a seeded uniform sample of that many training images (the test set stays
whole): the shipped ``fmnist_tiny`` table trains on one, so a build fits in CPU minutes. The
sample is part of the data set's content, so its content hash differs from the full set's.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.loaders._files import PathLike, data_dir
from nasbench.data.preprocess import ExpandDims, NativeInput, Preprocessing
from nasbench.data.registry import register_dataset
from nasbench.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "NASBENCH_FASHION_MNIST_DIR"
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_IDX_UBYTE = 0x08
SUBSET_SEED = 0  # seed of the training sample ``train_size`` keeps; fixed, so the sample is too
# The IDX files' names, written once for the reader and for PREPROCESSING's description.
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
PREPROCESSING = Preprocessing(
    native=NativeInput(
        source=f"the IDX files {TRAIN_IMAGES} and {TEST_IMAGES}, read as arrays",
        arrays=(TRAIN_IMAGES, TEST_IMAGES),
        shape=("N", 28, 28),
        dtype="uint8",
        value_range=(0.0, 255.0),
    ),
    steps=(ExpandDims(axis=1),),
)


def find_file(folder: Path, stem: str) -> Path:
    """``folder/stem``, or its gzipped copy ``stem.gz``."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"{folder}: no {stem}[.gz] found; install Debian's dataset-fashion-mnist "
        "or give the folder that holds the IDX files."
    )


def read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Read one unsigned-byte IDX file, gzip-compressed or not; ``ndim`` checks its rank."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number).")
    ndims = raw[3]
    if ndim is not None and ndims != ndim:
        raise DataError(f"{path}: expected a {ndim}-dimensional IDX file, found {ndims} dimensions.")
    header = 4 + 4 * ndims
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndims))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{path}: IDX header promises {expected} bytes of data, file holds {len(raw) - header}.")
    # Copy out of the read-only bytes so callers (torch.from_numpy) get a writable array.
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot be read as an IDX file ({e}).") from e


def _read_pair(folder: Path, images_stem: str, labels_stem: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, H, W) and int64 labels from two IDX files that must agree in length."""
    images_path, labels_path = find_file(folder, images_stem), find_file(folder, labels_stem)
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if len(images) != len(labels):
        raise DataError(f"{images_path}: holds {len(images)} images but {labels_path} holds {len(labels)} labels.")
    return PREPROCESSING.apply(images), labels.astype(np.int64)


def training_sample(n: int, train_size: int | None) -> np.ndarray | None:
    """Sorted indices of a seeded uniform sample of ``train_size`` of ``n`` training images (None: all)."""
    if train_size is None:
        return None
    if isinstance(train_size, bool) or not isinstance(train_size, (int, np.integer)):
        raise DataError(f"Fashion-MNIST option train_size must be a whole number, got {train_size!r}.")
    if not 1 <= train_size <= n:
        raise DataError(f"Fashion-MNIST option train_size must lie in [1, {n}], got {train_size}.")
    return np.sort(np.random.default_rng(SUBSET_SEED).choice(n, size=int(train_size), replace=False))


@register_dataset("fashion_mnist")
def load_fashion_mnist(path: PathLike | None = None, train_size: int | None = None) -> ArrayDataset:
    """Fashion-MNIST from ``path``, else $NASBENCH_FASHION_MNIST_DIR, else Debian's folder;
    ``train_size``: keep a seeded sample of that many training images (see the module notes)."""
    folder = data_dir(
        path, ENV_VAR, "Fashion-MNIST", default=DEBIAN_DIR, hint="install Debian's dataset-fashion-mnist, "
    )
    x, y = _read_pair(folder, TRAIN_IMAGES, TRAIN_LABELS)
    keep = training_sample(len(y), train_size)
    train = (x, y) if keep is None else (x[keep], y[keep])
    test = _read_pair(folder, TEST_IMAGES, TEST_LABELS)
    return ArrayDataset.with_test_set("fashion_mnist", train, test, CLASS_NAMES, str(folder), PREPROCESSING)
