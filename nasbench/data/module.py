"""The in-memory LightningDataModule: whole splits as tensors, batches by index.

Small data sets live on the training device as one tensor; a batch is an index gather, and
augmentation (random crop with padding, flips) runs on the batch tensor, per spatial dimension.
Normalisation uses the training split's statistics only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from nasbench.data.dataset import ArrayDataset
from nasbench.data.preprocess import Cast, Divide, Normalize, Preprocessing, Resize, Step
from nasbench.data.split import Split


@dataclass(frozen=True)
class Augment:
    """Augmentation on tensors: ``crop_padding`` pixels of random translation, random flips."""

    crop_padding: int = 0
    flip: bool = False  # mirror along the last spatial axis (meaningful for most images)


class TensorBatches:
    """An iterable of ``(x, y)`` batches drawn by index from tensors on one device.

    ``fill`` (shape ``(1, C, 1, ...)``) is what the crop's padding shows: the normalised value
    of a raw zero, so padding looks like the black border of the raw data, as in a
    pad-then-normalise pipeline.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        augment: Augment | None = None,
        seed: int = 0,
        drop_last: bool = False,
        fill: torch.Tensor | None = None,
    ) -> None:
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.augment, self.fill = batch_size, shuffle, augment, fill
        self.drop_last = drop_last and len(y) > batch_size
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        if not self.shuffle:
            # Contiguous slices are views: no copy for validation and test batches.
            for i in range(len(self)):
                s = slice(i * self.batch_size, (i + 1) * self.batch_size)
                yield self.x[s], self.y[s]
            return
        order = torch.randperm(n, generator=self.generator).to(self.x.device)
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            xb = self.x.index_select(0, idx)
            if self.augment is not None:
                xb = augment_batch(xb, self.augment, self.generator, self.fill)
            yield xb, self.y.index_select(0, idx)


def augment_batch(
    x: torch.Tensor, aug: Augment, gen: torch.Generator, fill: torch.Tensor | None = None
) -> torch.Tensor:
    """Random translation (pad + crop) and flip, independently per sample."""
    if aug.crop_padding > 0:
        x = random_translate(x, aug.crop_padding, gen, fill)
    if aug.flip:
        b = x.shape[0]
        mask = (torch.rand(b, generator=gen) < 0.5).to(x.device)
        x = torch.where(mask.view(b, *([1] * (x.dim() - 1))), x.flip(-1), x)
    return x


def random_translate(x: torch.Tensor, p: int, gen: torch.Generator, fill: torch.Tensor | None = None) -> torch.Tensor:
    """Pad every spatial dim by ``p`` with ``fill`` and crop back at a random offset per sample."""
    b, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
    padded_shape = (b, c, *(s + 2 * p for s in spatial))
    padded = x.new_zeros(padded_shape) if fill is None else fill.to(x.dtype).expand(padded_shape).clone()
    padded[(slice(None), slice(None), *(slice(p, p + s) for s in spatial))] = x
    # Per-sample offsets in [0, 2p] along each spatial dim, applied by advanced indexing.
    ones = [1] * len(spatial)
    index: list[torch.Tensor] = [torch.arange(b, device=x.device).view(b, *ones)]
    for d, size in enumerate(spatial):
        off = torch.randint(0, 2 * p + 1, (b,), generator=gen).to(x.device)
        shape = [b, *ones]
        shape[1 + d] = size
        index.append((off.view(b, 1) + torch.arange(size, device=x.device)).view(shape))
    return padded.movedim(1, -1)[tuple(index)].movedim(-1, 1).contiguous()


PIXEL_MAX = 255.0  # uint8 pixels are divided by it; other numbers are taken as they are


def to_float(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x))
    return t.float().div_(PIXEL_MAX) if t.dtype == torch.uint8 else t.float()


def float_steps(dtype: np.dtype) -> tuple[Step, ...]:
    """What :func:`to_float` does to arrays of ``dtype``, as recorded steps."""
    cast = Cast(dtype="float32")
    return (cast, Divide(divisor=PIXEL_MAX)) if dtype == np.uint8 else (cast,)


def resize(x: torch.Tensor, resolution: int | None) -> torch.Tensor:
    """Resize every spatial dim to ``resolution`` (linear interpolation); None keeps the size."""
    if resolution is None or all(s == resolution for s in x.shape[2:]):
        return x
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[x.dim() - 2]
    return F.interpolate(x, size=(resolution,) * (x.dim() - 2), mode=mode, align_corners=False)


class TensorDataModule(pl.LightningDataModule):
    """Feeds one trial: the split's train (optionally a fraction), validation and test tensors.

    ``setup("fit")`` prepares training and validation tensors, ``setup("test")`` the test
    tensors, so a search trial never touches (or pays for) the test set. ``train_on_val``: the
    validation split is trained on as well (a final re-training), so there is nothing to validate.
    """

    def __init__(
        self,
        dataset: ArrayDataset,
        split: Split,
        batch_size: int = 128,
        train_fraction: float = 1.0,
        resolution: int | None = None,
        augment: Augment | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        eval_batch_size: int = 1024,
        train_on_val: bool = False,
    ) -> None:
        super().__init__()
        self.dataset, self.split = dataset, split
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.train_fraction, self.resolution = train_fraction, resolution
        self.train_on_val = train_on_val
        self.augment, self.seed, self.device = augment, seed, torch.device(device)
        self.tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.mean: torch.Tensor | None = None  # per channel, shape (1, C, 1, ...), training data only
        self.std: torch.Tensor | None = None

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(C, *spatial) as the network sees it (after resizing)."""
        spatial = self.dataset.input_size if self.resolution is None else (self.resolution,) * self.dataset.ndim
        return (self.dataset.in_channels, *spatial)

    def setup(self, stage: str | None = None) -> None:
        if "train" not in self.tensors:
            self._setup_train()
        if stage in (None, "fit", "validate") and "val" not in self.tensors:
            val = self.split.val[:0] if self.train_on_val else self.split.val
            self.tensors["val"] = self._prepare(self.dataset.x, self.dataset.y, val)
        if stage in (None, "test") and "test" not in self.tensors:
            self.tensors["test"] = self._prepare(*self.test_arrays(), self.split.test)
        # The device may have been chosen after an earlier setup (train_network picks it).
        self.tensors = {k: (x.to(self.device), y.to(self.device)) for k, (x, y) in self.tensors.items()}

    def test_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The arrays ``split.test`` indexes: the official test set, or the training arrays."""
        ds = self.dataset
        if self.split.test_is_official:
            assert ds.x_test is not None and ds.y_test is not None  # the split was made from this data set
            return ds.x_test, ds.y_test
        return ds.x, ds.y

    def tensor_steps(self) -> tuple[Step, ...]:
        """What :meth:`setup` does to the loaded arrays (after it computed the statistics)."""
        assert self.mean is not None and self.std is not None
        resized = self.resolution is not None and self.input_shape[1:] != self.dataset.input_size
        return (
            *float_steps(self.dataset.x.dtype),
            *([Resize(size=self.input_shape[1:])] if resized else []),
            Normalize(mean=tuple(self.mean.flatten().tolist()), std=tuple(self.std.flatten().tolist())),
        )

    def preprocessing(self) -> Preprocessing:
        """Every step from the data set's native arrays to the tensors the network sees."""
        return self.dataset.loading().then(*self.tensor_steps())

    def _setup_train(self) -> None:
        idx = self.split.train_subset(self.train_fraction)
        if self.train_on_val:
            idx = np.concatenate([idx, self.split.val])
        x = resize(to_float(self.dataset.x[idx]), self.resolution)
        dims = [0, *range(2, x.dim())]
        self.mean = x.mean(dim=dims, keepdim=True)
        self.std = x.std(dim=dims, keepdim=True).clamp_min(1e-6)
        self.tensors["train"] = (x.sub_(self.mean).div_(self.std), labels(self.dataset.y[idx]))

    def _prepare(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Resize and normalise with the training statistics."""
        assert self.mean is not None and self.std is not None
        xt = resize(to_float(x[idx]), self.resolution)
        return xt.sub_(self.mean).div_(self.std), labels(y[idx])

    def train_dataloader(self) -> TensorBatches:
        x, y = self.tensors["train"]
        fill = None if self.mean is None or self.std is None else (-self.mean / self.std).to(x.device)
        return TensorBatches(
            x, y, self.batch_size, shuffle=True, augment=self.augment, seed=self.seed, drop_last=True, fill=fill
        )

    def val_dataloader(self) -> TensorBatches:
        x, y = self.tensors["val"]
        return TensorBatches(x, y, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> TensorBatches:
        x, y = self.tensors["test"]
        return TensorBatches(x, y, self.eval_batch_size, shuffle=False)


def labels(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(y.astype(np.int64))
