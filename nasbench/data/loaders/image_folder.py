"""A folder of images with one sub-folder per class (class names = sorted sub-folder names)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from nasbench.data.dataset import ArrayDataset
from nasbench.data.loaders._files import PathLike, is_hidden
from nasbench.data.preprocess import ExpandDims, ImageDecode, MoveAxis, NativeInput, Preprocessing
from nasbench.data.registry import register_dataset
from nasbench.errors import ConfigError, DataError

MODES = ("auto", "grayscale", "rgb")
_GRAY_BANDS = {("1",), ("L",), ("L", "A")}
_WIDE_GRAY_BANDS = {("I",)}  # how Pillow reads 16-bit grey PNG and TIFF files


def image_extensions() -> set[str]:
    """File suffixes Pillow can open (``.png``, ``.jpg``, ``.bmp``, ``.gif``, ...)."""
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def class_folders(root: Path) -> list[Path]:
    """Sorted, non-hidden sub-folders of ``root``; at least two are required."""
    if not root.is_dir():
        raise DataError(f"{root}: image folder not found.")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p.name))
    if not folders:
        raise DataError(f"{root}: no class sub-folders; put each class's images in a sub-folder named after it.")
    if len(folders) < 2:
        raise DataError(
            f"{root}: only one class sub-folder ({folders[0].name}); a classifier needs at least 2 classes."
        )
    return folders


def image_files(folder: Path, extensions: set[str]) -> list[Path]:
    """Image files under ``folder`` (nested folders included), in a stable sorted order."""
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in extensions
        and not any(is_hidden(part) for part in p.relative_to(folder).parts)
    )
    if not files:
        raise DataError(f"{folder}: no image files in this class folder.")
    return files


def read_image(file: Path, size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 (H, W) if single-channel grey, else (H, W, 3); resized to ``size``."""
    try:
        with Image.open(file) as opened:
            opened.load()
            img = to_8bit(opened)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{file}: cannot be read as an image ({e}).") from e
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def to_8bit(img: Image.Image) -> Image.Image:
    """An 8-bit 'L' (single-channel grey) or 'RGB' copy of ``img``."""
    bands = img.getbands()
    if bands in _GRAY_BANDS:
        return img.convert("L")
    if bands in _WIDE_GRAY_BANDS:
        # Pillow's convert("L") clips 16-bit values at 255; scale the 0..65535 range instead.
        wide = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8), mode="L")
    if bands == ("F",):
        raise ValueError("floating-point pixels are not supported; save the image with 8-bit channels")
    rgb = img.convert("RGB")
    if bands[0] == "P" and _is_grey(rgb):
        return rgb.convert("L")  # a palette image that only uses grey levels is single-channel
    return rgb


def _is_grey(rgb: Image.Image) -> bool:
    a = np.asarray(rgb)
    return bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())


def stack_images(images: list[np.ndarray], files: list[Path], mode: str) -> np.ndarray:
    """(N, H, W) uint8 grey or (N, H, W, 3) RGB images; all images must share one size."""
    first = images[0].shape[:2]
    for img, file in zip(images, files):
        if img.shape[:2] != first:
            raise DataError(
                f"{file}: is {img.shape[1]}x{img.shape[0]} pixels but {files[0]} is {first[1]}x{first[0]}; "
                "pass size= to resize all images to one size."
            )
    rgb = mode == "rgb" or (mode == "auto" and any(img.ndim == 3 for img in images))
    converted = [_as_rgb(img) if rgb else _as_grey(img) for img in images]
    return np.stack(converted)


def _as_rgb(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)


def _as_grey(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else np.asarray(Image.fromarray(img, mode="RGB").convert("L"))


def parse_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    """``size`` as (height, width): an int means a square."""
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in pair):
        raise ConfigError(f"image_folder size must be a positive int or (height, width), got {size!r}.")
    return pair


@register_dataset("image_folder")
def load_image_folder(path: PathLike, mode: str = "auto", size: int | Sequence[int] | None = None) -> ArrayDataset:
    """Images under ``path/<class>/``; ``mode`` auto (RGB unless all are grey), grayscale or rgb."""
    if mode not in MODES:
        raise ConfigError(f"image_folder mode must be one of {', '.join(MODES)}, got {mode!r}.")
    hw = parse_size(size)
    root = Path(path).expanduser()
    folders = class_folders(root)
    extensions = image_extensions()
    files, labels = [], []
    for label, folder in enumerate(folders):
        found = image_files(folder, extensions)
        files += found
        labels += [label] * len(found)
    native = stack_images([read_image(f, hw) for f in files], files, mode)
    rgb = native.ndim == 4
    decode = ImageDecode(mode="RGB" if rgb else "L", size=hw)
    preprocessing = Preprocessing(
        native=NativeInput(
            source=f"the image files under {root}/<class>/, decoded",
            shape=("N", *native.shape[1:]),
            dtype="uint8",
            value_range=(0.0, 255.0),
            decode=decode,
        ),
        steps=(MoveAxis(source=-1, destination=1) if rgb else ExpandDims(axis=1),),
    )
    return ArrayDataset(
        name="image_folder",
        x=preprocessing.apply(native),
        y=np.asarray(labels, dtype=np.int64),
        num_classes=len(folders),
        class_names=tuple(f.name for f in folders),
        source=str(root),
        preprocessing=preprocessing,
    )
