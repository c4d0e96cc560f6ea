"""Every built-in data set's recorded preprocessing, run by hand from its JSON on the data set's own
native arrays, gives exactly the arrays the loader gives, and then exactly the tensors training sees."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import make_split
from nasbench.errors import DataError
from tests.data.test_loaders import (
    FASHION_FILES,
    needs_debian_fashion,
    rgb,
    write_image,
    write_npz,
    write_tiny_cifar,
    write_tiny_fashion,
)
from tests.preprocess_by_hand import preprocess


def record(ds: ArrayDataset) -> dict:
    """The loader's record as the metadata file holds it (JSON types)."""
    return ds.loading().model_dump(mode="json")


def assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_digits_from_sklearns_images_or_data() -> None:
    from sklearn.datasets import load_digits

    bunch, ds = load_digits(), load_dataset("digits")
    rec = record(ds)
    assert rec["native"]["source"] == "sklearn.datasets.load_digits()" and rec["native"]["value_range"] == [0, 16]
    assert_same(preprocess(bunch.images, rec), ds.x)  # (N, 8, 8) float64 in 0..16
    assert_same(preprocess(bunch.data, rec), ds.x)  # (N, 64)


def test_mnist1d_from_the_generated_arrays() -> None:
    from mnist1d.data import get_dataset_args, make_dataset

    ds = load_dataset("mnist1d")
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        native = make_dataset(get_dataset_args())  # reseeds the global generators
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    assert record(ds)["native"]["dtype"] == str(native["x"].dtype)
    assert_same(preprocess(native["x"], record(ds)), ds.x)
    assert_same(preprocess(native["x_test"], record(ds)), ds.x_test)


def test_fashion_mnist_from_the_idx_arrays(tmp_path: Path) -> None:
    arrays = write_tiny_fashion(tmp_path)
    ds = load_dataset("fashion_mnist", path=tmp_path)
    assert record(ds)["native"]["arrays"] == [FASHION_FILES["x"], FASHION_FILES["x_test"]]
    assert_same(preprocess(arrays["x"].astype(np.uint8), record(ds)), ds.x)
    assert_same(preprocess(arrays["x_test"].astype(np.uint8), record(ds)), ds.x_test)


@needs_debian_fashion
def test_fashion_mnist_record_is_the_same_for_the_debian_files(tmp_path: Path) -> None:
    write_tiny_fashion(tmp_path)
    assert record(load_dataset("fashion_mnist")) == record(load_dataset("fashion_mnist", path=tmp_path))


def test_cifar10_from_the_pickled_rows(tmp_path: Path) -> None:
    rows = write_tiny_cifar(tmp_path / "cifar")
    ds = load_dataset("cifar10", path=tmp_path / "cifar")
    train = np.concatenate([rows[f"data_batch_{i}"] for i in range(1, 6)])  # (N, 3072) uint8
    assert_same(preprocess(train, record(ds)), ds.x)
    assert_same(preprocess(rows["test_batch"], record(ds)), ds.x_test)


@pytest.mark.parametrize(
    ("x", "channels"),
    [
        (np.random.default_rng(0).normal(size=(4, 10)), "auto"),  # float64 signals (N, L)
        (np.random.default_rng(0).integers(0, 256, (4, 5, 6, 3), dtype=np.uint8), "last"),
        (np.random.default_rng(0).integers(-3, 3, (4, 5, 6)), "none"),  # int64 images without channels
        (np.random.default_rng(0).normal(size=(4, 2, 5, 6)).astype(np.float32), "first"),
    ],
)
def test_npz_from_the_stored_arrays(tmp_path: Path, x: np.ndarray, channels: str) -> None:
    file = write_npz(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]), x_test=x[:2], y_test=np.array([1, 0]))
    ds = load_dataset("npz", path=file, channels=channels)
    rec = record(ds)
    assert rec["native"]["dtype"] == str(x.dtype) and rec["native"]["arrays"] == ["x", "x_test"]
    assert_same(preprocess(x, rec), ds.x)
    assert_same(preprocess(x[:2], rec), ds.x_test)


def test_npz_test_set_must_share_the_kind_of_samples(tmp_path: Path) -> None:
    # uint8 pixels are rescaled to 0..1 and numbers are not: one record cannot describe both.
    x = np.zeros((4, 3, 3), dtype=np.uint8)
    y = np.array([0, 1, 0, 1])
    file = write_npz(tmp_path / "d.npz", x=x, y=y, x_test=x.astype(float), y_test=y)
    with pytest.raises(DataError, match="test samples are float32, training samples uint8"):
        load_dataset("npz", path=file)


@pytest.mark.parametrize(("mode", "size"), [("auto", None), ("grayscale", (5, 7)), ("rgb", (3, 4))])
def test_image_folder_from_the_decoded_files(tmp_path: Path, mode: str, size: tuple[int, int] | None) -> None:
    files = [
        write_image(tmp_path / "a" / "1.png", rgb(50, 6, 8)),
        write_image(tmp_path / "b" / "1.png", rgb(90, 6, 8)),
        write_image(tmp_path / "b" / "2.png", np.arange(48).reshape(6, 8) * 5),
    ]
    ds = load_dataset("image_folder", path=tmp_path, mode=mode, size=size)
    rec = record(ds)
    decode = rec["native"]["decode"]
    assert decode["library"] == "Pillow" and decode["resample"] == "bilinear"
    assert decode["size"] == (None if size is None else list(size))

    def read(file: Path) -> np.ndarray:  # as the record's decode says, for these 8-bit files
        img = Image.open(file).convert("L" if file.name == "2.png" else "RGB")
        if decode["size"] is not None:
            img = img.resize(decode["size"][::-1], Image.Resampling.BILINEAR)
        return np.asarray(img.convert(decode["mode"]))

    assert_same(preprocess(np.stack([read(f) for f in files]), rec), ds.x)


@pytest.mark.parametrize("resolution", [None, 12, 5])
def test_training_tensors_from_sklearns_digits(resolution: int | None) -> None:
    from sklearn.datasets import load_digits

    ds = load_dataset("digits")
    dm = TensorDataModule(ds, make_split(ds, 0.2), resolution=resolution)
    dm.setup()
    rec = dm.preprocessing().model_dump(mode="json")
    assert [s["op"] for s in rec["steps"]][-3:] == (
        ["cast", "divide", "normalize"] if resolution is None else ["divide", "resize", "normalize"]
    )
    native = load_digits().images
    for part, idx in (("train", dm.split.train), ("test", dm.split.test)):
        x = preprocess(native[idx], rec)
        tensor = dm.tensors[part][0].numpy()
        assert x.dtype == np.float32 and x.shape == tensor.shape
        if resolution is None:
            assert np.array_equal(x, tensor)
        else:
            np.testing.assert_allclose(x, tensor, rtol=0, atol=1e-5)
