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
from nasbench.data.split import Split, subsample


@dataclass(frozen=True)
class Augment:
    """Augmentation on tensors: ``crop_padding`` pixels of random translation, random flips."""

    crop_padding: int = 0
    flip: bool = False  # mirror along the last spatial axis (meaningful for most images)


class TensorBatches:
    """An iterable of ``(x, y)`` batches drawn by index from tensors on one device."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool,
                 augment: Augment | None = None, seed: int = 0, drop_last: bool = False) -> None:
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.drop_last = drop_last and len(y) > batch_size
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.x.device)
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            xb = self.x.index_select(0, idx)
            if self.augment is not None:
                xb = augment_batch(xb, self.augment, self.generator)
            yield xb, self.y.index_select(0, idx)


def augment_batch(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    """Random translation (pad + crop) and flip, independently per sample."""
    b, spatial = x.shape[0], x.shape[2:]
    if aug.crop_padding > 0:
        p = aug.crop_padding
        padded = F.pad(x, [p] * (2 * len(spatial)))
        # Per-sample offsets in [0, 2p] along each spatial dim, applied by advanced indexing.
        index: list[torch.Tensor] = [torch.arange(b, device=x.device).view(b, *([1] * len(spatial)))]
        for d, size in enumerate(spatial):
            off = torch.randint(0, 2 * p + 1, (b,), generator=gen).to(x.device)
            pos = off.view(b, 1) + torch.arange(size, device=x.device).view(1, size)
            shape = [b] + [1] * len(spatial)
            shape[1 + d] = size
            index.append(pos.view(shape))
        x = padded.movedim(1, -1)[tuple(index)].movedim(-1, 1)
    if aug.flip:
        mask = (torch.rand(b, generator=gen) < 0.5).to(x.device)
        x = torch.where(mask.view(b, *([1] * (x.dim() - 1))), x.flip(-1), x)
    return x.contiguous()


def to_float(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x))
    return t.float().div_(255.0) if t.dtype == torch.uint8 else t.float()


def resize(x: torch.Tensor, resolution: int | None) -> torch.Tensor:
    """Resize every spatial dim to ``resolution`` (linear interpolation); None keeps the size."""
    if resolution is None or all(s == resolution for s in x.shape[2:]):
        return x
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[x.dim() - 2]
    return F.interpolate(x, size=(resolution,) * (x.dim() - 2), mode=mode, align_corners=False)


class TensorDataModule(pl.LightningDataModule):
    """Feeds one trial: the split's train (optionally a fraction), validation and test tensors."""

    def __init__(self, dataset: ArrayDataset, split: Split, batch_size: int = 128,
                 train_fraction: float = 1.0, resolution: int | None = None,
                 augment: Augment | None = None, seed: int = 0, device: str | torch.device = "cpu",
                 eval_batch_size: int = 1024) -> None:
        super().__init__()
        self.dataset, self.split = dataset, split
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.train_fraction, self.resolution = train_fraction, resolution
        self.augment, self.seed, self.device = augment, seed, torch.device(device)
        self.tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(C, *spatial) as the network sees it (after resizing)."""
        spatial = self.dataset.input_size if self.resolution is None else (self.resolution,) * self.dataset.ndim
        return (self.dataset.in_channels, *spatial)

    def setup(self, stage: str | None = None) -> None:
        if self.tensors:
            return
        ds, sp = self.dataset, self.split
        train_idx = subsample(sp.train, self.train_fraction, self.seed)
        x_train = resize(to_float(ds.x[train_idx]), self.resolution)
        dims = [0] + list(range(2, x_train.dim()))
        mean = x_train.mean(dim=dims, keepdim=True)
        std = x_train.std(dim=dims, keepdim=True).clamp_min(1e-6)

        def prep(x: np.ndarray) -> torch.Tensor:
            return ((resize(to_float(x), self.resolution) - mean) / std).to(self.device)

        def labels(y: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(y.astype(np.int64)).to(self.device)

        self.tensors["train"] = (((x_train - mean) / std).to(self.device), labels(ds.y[train_idx]))
        self.tensors["val"] = (prep(ds.x[sp.val]), labels(ds.y[sp.val]))
        x_src, y_src = (ds.x_test, ds.y_test) if sp.test_is_official else (ds.x, ds.y)
        self.tensors["test"] = (prep(x_src[sp.test]), labels(y_src[sp.test]))

    def train_dataloader(self) -> TensorBatches:
        x, y = self.tensors["train"]
        return TensorBatches(x, y, self.batch_size, shuffle=True, augment=self.augment, seed=self.seed,
                             drop_last=True)

    def val_dataloader(self) -> TensorBatches:
        x, y = self.tensors["val"]
        return TensorBatches(x, y, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> TensorBatches:
        x, y = self.tensors["test"]
        return TensorBatches(x, y, self.eval_batch_size, shuffle=False)
