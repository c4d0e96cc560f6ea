"""Data-set loaders: real data, small files in every user format, and each bad input."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import random
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nasbench.data import dataset_names, load_dataset
from nasbench.data.loaders import cifar10, mnist1d
from nasbench.errors import ConfigError, DataError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_debian_fashion = pytest.mark.skipif(
    not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)


def names(path: Path) -> str:
    """A regex matching the path as a loader prints it."""
    return re.escape(str(path))


def test_every_loader_is_registered() -> None:
    assert {"fashion_mnist", "digits", "mnist1d", "cifar10", "image_folder", "npz"} <= set(dataset_names())


# ---------------------------------------------------------------- Fashion-MNIST

FASHION_FILES = {
    "x": "train-images-idx3-ubyte",
    "y": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def write_idx(path: Path, array: np.ndarray) -> Path:
    """An unsigned-byte IDX file, gzipped when the name ends in .gz."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_tiny_fashion(folder: Path, suffix: str = "") -> dict[str, np.ndarray]:
    """A Fashion-MNIST-format folder of 6 training and 4 test images, 28x28."""
    rng = np.random.default_rng(0)
    arrays = {
        "x": rng.integers(0, 256, (6, 28, 28)),
        "y": np.array([0, 1, 2, 3, 4, 9]),
        "x_test": rng.integers(0, 256, (4, 28, 28)),
        "y_test": np.array([5, 6, 7, 8]),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in FASHION_FILES.items():
        write_idx(folder / f"{stem}{suffix}", arrays[key])
    return arrays


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion_mnist")


@needs_debian_fashion
def test_fashion_mnist_from_debian_package(fashion) -> None:
    assert fashion.x.shape == (60000, 1, 28, 28) and fashion.x.dtype == np.uint8
    assert fashion.x_test.shape == (10000, 1, 28, 28)
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    assert np.bincount(fashion.y).tolist() == [6000] * 10
    assert np.bincount(fashion.y_test).tolist() == [1000] * 10
    assert fashion.class_names[0] == "T-shirt/top" and fashion.class_names[9] == "Ankle boot"
    assert fashion.source == str(DEBIAN_FASHION)
    assert fashion.x.flags.writeable  # torch.from_numpy warns on read-only arrays


@needs_debian_fashion
def test_fashion_mnist_from_uncompressed_copies_matches_debian(fashion, tmp_path: Path) -> None:
    for stem in FASHION_FILES.values():
        with gzip.open(DEBIAN_FASHION / f"{stem}.gz", "rb") as src, open(tmp_path / stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    copy = load_dataset("fashion_mnist", path=str(tmp_path))
    assert copy.source == str(tmp_path)
    assert copy.content_hash() == fashion.content_hash()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_fashion_mnist_from_user_folder(tmp_path: Path, suffix: str) -> None:
    arrays = write_tiny_fashion(tmp_path, suffix)
    data = load_dataset("fashion_mnist", path=tmp_path)
    np.testing.assert_array_equal(data.x[:, 0], arrays["x"])
    np.testing.assert_array_equal(data.y, arrays["y"])
    np.testing.assert_array_equal(data.x_test[:, 0], arrays["x_test"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])


def test_fashion_mnist_train_size_keeps_a_fixed_sample_and_the_whole_test_set(tmp_path: Path) -> None:
    arrays = write_tiny_fashion(tmp_path)
    full = load_dataset("fashion_mnist", path=tmp_path)
    part = load_dataset("fashion_mnist", path=tmp_path, train_size=4)
    again = load_dataset("fashion_mnist", path=tmp_path, train_size=4)
    assert part.x.shape == (4, 1, 28, 28) and part.describe()["train_size"] == 4
    # Rows of the full training set, in file order, each image with its own label; the same every time.
    rows = [int(np.flatnonzero((arrays["x"] == img[0]).all(axis=(1, 2)))[0]) for img in part.x]
    assert rows == sorted(rows) and len(set(rows)) == 4
    np.testing.assert_array_equal(part.y, arrays["y"][rows])
    np.testing.assert_array_equal(again.x, part.x)
    np.testing.assert_array_equal(part.x_test, full.x_test)
    assert part.content_hash() != full.content_hash() and part.x.flags.writeable
    assert load_dataset("fashion_mnist", path=tmp_path, train_size=6).content_hash() == full.content_hash()


@pytest.mark.parametrize("bad", [0, 7, -1, 2.5, "3", True])
def test_fashion_mnist_bad_train_size_is_named(tmp_path: Path, bad) -> None:
    write_tiny_fashion(tmp_path)
    with pytest.raises(DataError, match="train_size"):
        load_dataset("fashion_mnist", path=tmp_path, train_size=bad)


def test_fashion_mnist_folder_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tiny_fashion(tmp_path)
    monkeypatch.setenv("NASBENCH_FASHION_MNIST_DIR", str(tmp_path))
    assert load_dataset("fashion_mnist").source == str(tmp_path)


def _bad_magic(path: Path) -> None:
    path.write_bytes(b"\x00\x00\x0d\x03" + path.read_bytes()[4:])


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10])


def _short_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:6])


def _wrong_rank(path: Path) -> None:
    write_idx(path, np.zeros((6, 2, 2)))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("corrupt", [_bad_magic, _truncated, _short_header, _wrong_rank, _empty])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_corrupt_idx_file_is_named(tmp_path: Path, corrupt, suffix: str) -> None:
    write_tiny_fashion(tmp_path)
    target = tmp_path / FASHION_FILES["y"]
    corrupt(target)
    if suffix:
        target.with_name(target.name + suffix).write_bytes(gzip.compress(target.read_bytes()))
        target.unlink()
        target = target.with_name(target.name + suffix)
    with pytest.raises(DataError, match=names(target)):
        load_dataset("fashion_mnist", path=tmp_path)


@pytest.mark.parametrize("damage", ["cut", "bad block", "bad checksum", "not gzip"])
def test_broken_gzip_idx_file_is_named(tmp_path: Path, damage: str) -> None:
    write_tiny_fashion(tmp_path, ".gz")
    target = tmp_path / f"{FASHION_FILES['x_test']}.gz"
    raw = target.read_bytes()
    broken = {
        "cut": raw[: len(raw) // 2],
        # Past gzip's 10-byte header: the deflate block header (zlib.error), then data (CRC).
        "bad block": raw[:10] + bytes(b ^ 0xFF for b in raw[10:14]) + raw[14:],
        "bad checksum": raw[:20] + bytes(b ^ 0xFF for b in raw[20:60]) + raw[60:],
        "not gzip": b"plain bytes, not gzip" * 10,
    }
    target.write_bytes(broken[damage])
    with pytest.raises(DataError, match=names(target)):
        load_dataset("fashion_mnist", path=tmp_path)


def test_fashion_mnist_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    write_tiny_fashion(tmp_path)
    write_idx(tmp_path / FASHION_FILES["y_test"], np.array([1, 2, 3]))
    with pytest.raises(DataError, match=names(tmp_path / FASHION_FILES["x_test"])):
        load_dataset("fashion_mnist", path=tmp_path)


def test_fashion_mnist_missing_file_or_folder(tmp_path: Path) -> None:
    write_tiny_fashion(tmp_path)
    (tmp_path / FASHION_FILES["y_test"]).unlink()
    with pytest.raises(DataError, match=f"{names(tmp_path)}.*{FASHION_FILES['y_test']}"):
        load_dataset("fashion_mnist", path=tmp_path)
    with pytest.raises(DataError, match=names(tmp_path / "nowhere")):
        load_dataset("fashion_mnist", path=tmp_path / "nowhere")


# ---------------------------------------------------------------- digits


def test_digits() -> None:
    data = load_dataset("digits")
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == np.uint8
    assert data.x.max() == 255 and data.num_classes == 10
    assert not data.has_official_test
    assert data.class_names == tuple("0123456789")
    assert load_dataset("digits").content_hash() == data.content_hash()


# ---------------------------------------------------------------- MNIST-1D


def test_mnist1d_is_the_published_default_data_set() -> None:
    data = load_dataset("mnist1d")
    assert data.x.shape == (4000, 1, 40) and data.x.dtype == np.float32
    assert data.x_test.shape == (1000, 1, 40) and data.y_test.shape == (1000,)
    assert data.num_classes == 10 and data.ndim == 1
    # Pinned from mnist1d's make_dataset with its default arguments (seed 42): changes if
    # the arguments, the seed or the generator ever change.
    np.testing.assert_allclose(data.x[0, 0, :3], [-0.33200567, -0.47191037, -0.77869708], atol=1e-5)
    assert np.bincount(data.y).tolist() == [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]


def test_mnist1d_generation_is_deterministic_private_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    np.random.seed(7)
    random.seed(7)
    fresh = mnist1d.generate()
    after = (np.random.rand(), random.random())
    np.random.seed(7)
    random.seed(7)
    assert after == (np.random.rand(), random.random()), "generation changed the global random state"
    assert list(tmp_path.iterdir()) == []
    cached = load_dataset("mnist1d")
    for key in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(fresh[key], getattr(cached, key))


def test_mnist1d_callers_cannot_corrupt_the_cache() -> None:
    first = load_dataset("mnist1d")
    first.x[:] = 0
    assert load_dataset("mnist1d").x.std() > 0.5


# ---------------------------------------------------------------- CIFAR-10

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 byte strings, like the pickles the CIFAR site serves.

    Loaded with encoding="bytes", as the loader does, keys come back as b"data", b"labels".
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin1"))

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def dump(obj: object, style: str) -> bytes:
    if style == "py2":
        buf = io.BytesIO()
        Py2Pickler(buf, protocol=2).dump(obj)
        # Files written under numpy 1 name numpy.core, which numpy 2 renamed numpy._core.
        return buf.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    return pickle.dumps(obj, protocol=int(style))


def write_tiny_cifar(folder: Path, style: str = "py2", per_batch: int = 2) -> dict[str, np.ndarray]:
    """A cifar-10-batches-py folder with ``per_batch`` images per batch; returns the rows."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    rows = {}
    for i, name in enumerate([*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [(i * per_batch + j) % 10 for j in range(per_batch)]
        batch = {b"batch_label": b"tiny", b"data": data, b"labels": labels, b"filenames": [b"a.png"] * per_batch}
        (folder / name).write_bytes(dump(batch, style))
        rows[name] = data
    meta = {b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_cases_per_batch": per_batch}
    (folder / cifar10.META).write_bytes(dump(meta, style))
    return rows


@pytest.mark.parametrize("style", ["py2", "2", "5"])
def test_cifar10_reads_the_pickle_folder(tmp_path: Path, style: str) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    rows = write_tiny_cifar(folder, style)
    data = load_dataset("cifar10", path=str(folder))
    assert data.x.shape == (10, 3, 32, 32) and data.x.dtype == np.uint8
    assert data.x_test.shape == (2, 3, 32, 32)
    # Each row holds the red, green and blue 32x32 planes in turn.
    first = rows["data_batch_1"][0]
    np.testing.assert_array_equal(data.x[0, 0], first[:1024].reshape(32, 32))
    np.testing.assert_array_equal(data.x[0, 2], first[2048:].reshape(32, 32))
    np.testing.assert_array_equal(data.x[9].ravel(), rows["data_batch_5"][1])
    assert data.y.tolist() == list(range(10)) and data.y_test.tolist() == [0, 1]
    assert list(data.class_names) == CIFAR_NAMES
    assert data.source == str(folder)


def test_cifar10_from_parent_folder_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    write_tiny_cifar(folder)
    assert load_dataset("cifar10", path=tmp_path).source == str(folder)
    monkeypatch.setenv("NASBENCH_CIFAR10_DIR", str(folder))
    assert load_dataset("cifar10").source == str(folder)


def test_cifar10_needs_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NASBENCH_CIFAR10_DIR", raising=False)
    with pytest.raises(DataError, match="NASBENCH_CIFAR10_DIR"):
        load_dataset("cifar10")
    with pytest.raises(DataError, match=names(tmp_path / "missing")):
        load_dataset("cifar10", path=tmp_path / "missing")


def test_cifar10_missing_batch_is_named(tmp_path: Path) -> None:
    write_tiny_cifar(tmp_path / "c")
    (tmp_path / "c" / "data_batch_3").unlink()
    with pytest.raises(DataError, match=names(tmp_path / "c" / "data_batch_3")):
        load_dataset("cifar10", path=tmp_path / "c")


class Payload:
    """Unpickling this would run a command; the loader must refuse before that."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize(
    "content",
    [b"not a pickle at all", "truncated", "list", "no labels", "wrong row length", "payload"],
)
def test_cifar10_corrupt_batch_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content) -> None:
    monkeypatch.chdir(tmp_path)
    write_tiny_cifar(tmp_path / "c", style="5")
    target = tmp_path / "c" / "test_batch"
    good = pickle.loads(target.read_bytes())
    replacements = {
        "truncated": target.read_bytes()[:-40],
        "list": pickle.dumps([1, 2]),
        "no labels": pickle.dumps({b"data": good[b"data"]}),
        "wrong row length": pickle.dumps({b"data": good[b"data"][:, :100], b"labels": good[b"labels"]}),
        "payload": pickle.dumps({b"data": Payload()}),
    }
    target.write_bytes(replacements.get(content, content))
    with pytest.raises(DataError, match=names(target)):
        load_dataset("cifar10", path=tmp_path / "c")
    assert not (tmp_path / "PWNED").exists()


def test_cifar10_meta_without_class_names_is_named(tmp_path: Path) -> None:
    write_tiny_cifar(tmp_path / "c", style="5")
    (tmp_path / "c" / "batches.meta").write_bytes(pickle.dumps({b"num_vis": 3072}))
    with pytest.raises(DataError, match=names(tmp_path / "c" / "batches.meta")):
        load_dataset("cifar10", path=tmp_path / "c")


# ---------------------------------------------------------------- image folder


def write_image(path: Path, array: np.ndarray, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path, format=fmt)
    return path


def rgb(value: int, h: int = 4, w: int = 5) -> np.ndarray:
    """An RGB image whose red/green/blue channels are value, value+1, value+2."""
    return np.stack([np.full((h, w), value + c) for c in range(3)], axis=-1)


def test_image_folder_rgb_classes_in_sorted_order(tmp_path: Path) -> None:
    write_image(tmp_path / "cat" / "b.png", rgb(10))
    write_image(tmp_path / "cat" / "a.png", rgb(20))
    write_image(tmp_path / "ant" / "x.png", rgb(30))
    write_image(tmp_path / "dog" / "nested" / "y.png", rgb(40))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"\x00junk")
    (tmp_path / "dog" / "._y.png").write_bytes(b"\x00\x05\x16\x07 macOS AppleDouble, not a PNG")
    (tmp_path / ".hidden").mkdir()
    data = load_dataset("image_folder", path=str(tmp_path))
    assert data.class_names == ("ant", "cat", "dog")
    assert data.x.shape == (4, 3, 4, 5) and data.x.dtype == np.uint8
    assert data.y.tolist() == [0, 1, 1, 2]
    # Within a class files come in sorted order; channels come first.
    assert data.x[:, :, 0, 0].tolist() == [[30, 31, 32], [20, 21, 22], [10, 11, 12], [40, 41, 42]]
    assert data.source == str(tmp_path)


def test_image_folder_all_grey_is_single_channel(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "1.png", np.full((3, 3), 7))
    write_image(tmp_path / "b" / "1.bmp", np.full((3, 3), 9))
    write_image(tmp_path / "b" / "2.gif", np.full((3, 3), 11))  # palette image with grey levels only
    data = load_dataset("image_folder", path=tmp_path)
    assert data.x.shape == (3, 1, 3, 3)
    assert data.x[:, 0, 0, 0].tolist() == [7, 9, 11]


def test_image_folder_mixed_grey_and_colour_is_rgb(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "1.png", np.full((3, 3), 7))
    write_image(tmp_path / "b" / "1.jpg", rgb(100, 3, 3))
    data = load_dataset("image_folder", path=tmp_path)
    assert data.x.shape == (2, 3, 3, 3)
    assert data.x[0, :, 0, 0].tolist() == [7, 7, 7]


def test_image_folder_grayscale_mode_and_resize(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "1.png", rgb(50, 8, 8))
    write_image(tmp_path / "b" / "1.png", rgb(50, 4, 6))
    data = load_dataset("image_folder", path=tmp_path, mode="grayscale", size=(5, 7))
    assert data.x.shape == (2, 1, 5, 7)
    # Pillow's luma of (50, 51, 52) is 51.
    assert (data.x == 51).all()
    assert load_dataset("image_folder", path=tmp_path, mode="rgb", size=6).x.shape == (2, 3, 6, 6)


def test_image_folder_sixteen_bit_grey_is_scaled(tmp_path: Path) -> None:
    for cls, value in (("a", 65535), ("b", 257 * 100)):
        (tmp_path / cls).mkdir()
        Image.fromarray(np.full((2, 2), value, dtype=np.uint16)).save(tmp_path / cls / "1.png")
    assert load_dataset("image_folder", path=tmp_path).x[:, 0, 0, 0].tolist() == [255, 100]


def test_image_folder_sizes_must_agree_without_size(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "1.png", rgb(1, 4, 4))
    odd = write_image(tmp_path / "b" / "1.png", rgb(1, 4, 5))
    with pytest.raises(DataError, match=f"{names(odd)}.*size="):
        load_dataset("image_folder", path=tmp_path)


def test_image_folder_bad_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=names(tmp_path / "missing")):
        load_dataset("image_folder", path=tmp_path / "missing")
    write_image(tmp_path / "loose.png", rgb(1))
    with pytest.raises(DataError, match=f"{names(tmp_path)}: no class sub-folders"):
        load_dataset("image_folder", path=tmp_path)
    write_image(tmp_path / "a" / "1.png", rgb(1))
    with pytest.raises(DataError, match=f"{names(tmp_path)}.*needs at least 2 classes"):
        load_dataset("image_folder", path=tmp_path)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=f"{names(tmp_path / 'b')}: no image files"):
        load_dataset("image_folder", path=tmp_path)


def test_image_folder_unreadable_image_is_named(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "1.png", rgb(1))
    bad = tmp_path / "b" / "1.png"
    bad.parent.mkdir()
    bad.write_bytes(b"\x89PNG\r\n\x1a\n but then garbage")
    with pytest.raises(DataError, match=names(bad)):
        load_dataset("image_folder", path=tmp_path)


@pytest.mark.parametrize("options", [{"mode": "cmyk"}, {"size": 0}, {"size": (4, 4, 4)}])
def test_image_folder_bad_options(tmp_path: Path, options: dict) -> None:
    with pytest.raises(ConfigError):
        load_dataset("image_folder", path=tmp_path, **options)


# ---------------------------------------------------------------- npz


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("x_shape", "channels", "expected"),
    [
        ((6, 40), "auto", (6, 1, 40)),  # 1-D signals
        ((6, 2, 40), "auto", (6, 2, 40)),  # 1-D, 2 channels
        ((6, 12, 40), "none", (6, 1, 12, 40)),  # 2-D, no channel axis
        ((6, 3, 8, 8), "first", (6, 3, 8, 8)),  # 2-D colour
        ((6, 8, 8, 3), "last", (6, 3, 8, 8)),  # 2-D colour, channels last
        ((6, 4, 5, 6), "none", (6, 1, 4, 5, 6)),  # 3-D volumes
        ((6, 1, 4, 5, 6), "auto", (6, 1, 4, 5, 6)),
    ],
)
def test_npz_of_any_dimensionality(tmp_path: Path, x_shape: tuple, channels: str, expected: tuple) -> None:
    x = np.random.default_rng(0).normal(size=x_shape)
    file = write_npz(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2]))
    data = load_dataset("npz", path=str(file), channels=channels)
    assert data.x.shape == expected and data.x.dtype == np.float32
    assert data.num_classes == 3 and data.source == str(file)
    if channels == "last":
        np.testing.assert_allclose(data.x[2, 1, 3, 4], x[2, 3, 4, 1], rtol=1e-6)
    else:
        np.testing.assert_allclose(data.x.reshape(x.shape), x, rtol=1e-6)


def test_npz_keeps_uint8_and_reads_test_set_and_names(tmp_path: Path) -> None:
    x = np.arange(4 * 3 * 2 * 2, dtype=np.uint8).reshape(4, 3, 2, 2)
    file = write_npz(
        tmp_path / "d.npz", x=x, y=np.array([0.0, 1.0, 1.0, 0.0]), x_test=x[:2], y_test=np.array([[1], [0]]),
        class_names=np.array(["cat", "dog", "eel"]),
    )
    data = load_dataset("npz", path=file, num_classes=3)
    assert data.x.dtype == np.uint8 and np.array_equal(data.x, x)
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 1, 1, 0]
    assert data.y_test.tolist() == [1, 0]
    assert data.num_classes == 3 and data.class_names == ("cat", "dog", "eel")


def test_npz_number_of_classes_counts_test_labels(tmp_path: Path) -> None:
    x = np.zeros((3, 10))
    file = write_npz(tmp_path / "d.npz", x=x, y=np.array([0, 1, 1]), x_test=x, y_test=np.array([0, 1, 4]))
    assert load_dataset("npz", path=file).num_classes == 5


GOOD_X = np.zeros((4, 10), dtype=np.float32)
GOOD_Y = np.array([0, 1, 0, 1])


@pytest.mark.parametrize(
    ("arrays", "options", "key", "what"),
    [
        ({"y": GOOD_Y}, {}, "'x'", "missing"),
        ({"x": GOOD_X}, {}, "'y'", "missing"),
        ({"x": GOOD_X, "y": GOOD_Y[:3]}, {}, "'y'", "3 labels for 4 samples"),
        ({"x": GOOD_X, "y": np.array([0, 1, -1, 1])}, {}, "'y'", "negative"),
        ({"x": GOOD_X, "y": np.array([0, 1, 0.5, 1])}, {}, "'y'", "integer"),
        ({"x": GOOD_X, "y": np.array(["a", "b", "a", "b"])}, {}, "'y'", "integer"),
        ({"x": GOOD_X, "y": np.array([0, 1, 2, 3])}, {"num_classes": 3}, "'y'", "out of range"),
        ({"x": GOOD_X, "y": GOOD_Y, "x_test": GOOD_X}, {}, "'x_test'", "without 'y_test'"),
        ({"x": GOOD_X, "y": GOOD_Y, "y_test": GOOD_Y}, {}, "'y_test'", "without 'x_test'"),
        ({"x": GOOD_X, "y": GOOD_Y, "x_test": GOOD_X, "y_test": np.array([0, 9, 0, 1])}, {"num_classes": 2},
         "'y_test'", "out of range"),
        ({"x": GOOD_X, "y": GOOD_Y, "x_test": np.zeros((4, 11)), "y_test": GOOD_Y}, {}, "'x_test'", "shape"),
        ({"x": np.zeros(4), "y": GOOD_Y}, {}, "'x'", "unsupported shape"),
        ({"x": np.zeros((4, 1, 2, 2, 2, 2)), "y": GOOD_Y}, {}, "'x'", "unsupported shape"),
        ({"x": np.zeros((4, 1, 2, 2, 2)), "y": GOOD_Y}, {"channels": "none"}, "'x'", "unsupported shape"),
        ({"x": GOOD_X, "y": GOOD_Y}, {"channels": "first"}, "'x'", "unsupported shape"),
        ({"x": np.full((4, 10), np.nan), "y": GOOD_Y}, {}, "'x'", "NaN"),
        ({"x": np.full((4, 10), "s"), "y": GOOD_Y}, {}, "'x'", "numbers"),
        ({"x": GOOD_X, "y": GOOD_Y, "class_names": np.array(["one"])}, {}, "'class_names'", "2 names"),
    ],
)
def test_npz_bad_contents_name_file_and_key(tmp_path: Path, arrays: dict, options: dict, key: str, what: str) -> None:
    file = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=f"{names(file)}.*{re.escape(key)}.*{re.escape(what)}"):
        load_dataset("npz", path=file, **options)


def test_npz_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=names(tmp_path / "missing.npz")):
        load_dataset("npz", path=tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match=names(garbage)):
        load_dataset("npz", path=garbage)
    single = tmp_path / "single.npy"
    np.save(single, GOOD_X)
    with pytest.raises(DataError, match=names(single)):
        load_dataset("npz", path=single)
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([None] * 4, dtype=object), y=GOOD_Y)
    with pytest.raises(DataError, match=f"{names(objects)}.*'x'"):
        load_dataset("npz", path=objects)


@pytest.mark.parametrize("options", [{"channels": "sideways"}, {"num_classes": 1}, {"num_classes": "ten"}])
def test_npz_bad_options(tmp_path: Path, options: dict) -> None:
    file = write_npz(tmp_path / "d.npz", x=GOOD_X, y=GOOD_Y)
    with pytest.raises(ConfigError):
        load_dataset("npz", path=file, **options)


# ---------------------------------------------------------------- content hash


def test_content_hash_is_stable_and_follows_the_data(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(4, 10))
    file = write_npz(tmp_path / "d.npz", x=x, y=GOOD_Y)
    first = load_dataset("npz", path=file).content_hash()
    assert load_dataset("npz", path=file).content_hash() == first
    x[2, 3] += 1.0
    write_npz(file, x=x, y=GOOD_Y)
    changed_x = load_dataset("npz", path=file).content_hash()
    assert changed_x != first
    write_npz(file, x=x, y=GOOD_Y[::-1])
    assert load_dataset("npz", path=file).content_hash() not in (first, changed_x)


def test_image_folder_hash_follows_one_pixel(tmp_path: Path) -> None:
    write_image(tmp_path / "a" / "1.png", rgb(10))
    image = rgb(20)
    write_image(tmp_path / "b" / "1.png", image)
    first = load_dataset("image_folder", path=tmp_path).content_hash()
    assert load_dataset("image_folder", path=tmp_path).content_hash() == first
    image[1, 1, 0] += 1
    write_image(tmp_path / "b" / "1.png", image)
    assert load_dataset("image_folder", path=tmp_path).content_hash() != first
