"""MNIST-1D: 1-D signals of length 40 in 10 classes, generated locally by the `mnist1d` package.

The package's own ``get_dataset`` may download a pickle and writes one into the current
directory, so it is never called: ``make_dataset`` with the published default arguments
(5,000 signals, 4,000/1,000 train/test, seed 42) builds the same data in memory.
"""

from __future__ import annotations

import random
import threading

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.preprocess import Cast, ExpandDims, NativeInput, Preprocessing
from nasbench.data.registry import register_dataset

SOURCE = "mnist1d.data.make_dataset (published default arguments)"
PREPROCESSING = Preprocessing(
    native=NativeInput(
        source="mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())",
        arrays=("x", "x_test"),
        shape=("N", 40),
        dtype="float64",
    ),
    steps=(Cast(dtype="float32"), ExpandDims(axis=1)),
)
_cache: dict[str, np.ndarray] = {}
_lock = threading.Lock()


def generate() -> dict[str, np.ndarray]:
    """Generate MNIST-1D afresh (about 2 s); the caller's global random state is left as it was."""
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset reseeds Python's and NumPy's global generators; restore them afterwards
    # so loading data never changes a user's seeded run.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {
        "x": PREPROCESSING.apply(data["x"]),
        "y": data["y"].astype(np.int64),
        "x_test": PREPROCESSING.apply(data["x_test"]),
        "y_test": data["y_test"].astype(np.int64),
    }


def _cached_arrays() -> dict[str, np.ndarray]:
    # Generation is deterministic and takes seconds, so one run per process is enough;
    # the lock also keeps two threads from reseeding the global generators at once.
    with _lock:
        if not _cache:
            _cache.update(generate())
        return _cache


@register_dataset("mnist1d")
def load_mnist1d() -> ArrayDataset:
    """MNIST-1D as float32 (N, 1, 40); the official test set is the package's test split."""
    arrays = _cached_arrays()
    # Copies, so a caller that edits its arrays cannot corrupt the cache.
    train = arrays["x"].copy(), arrays["y"].copy()
    test = arrays["x_test"].copy(), arrays["y_test"].copy()
    return ArrayDataset.with_test_set("mnist1d", train, test, tuple(str(i) for i in range(10)), SOURCE, PREPROCESSING)
