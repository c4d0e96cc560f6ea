"""scikit-learn's digits: 1,797 grey 8x8 images of 10 digits, shipped with scikit-learn."""

from __future__ import annotations

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.registry import register_dataset


@register_dataset("digits")
def load_digits() -> ArrayDataset:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    # Pixel values are 0..16; scale to 0..255 uint8 like the other image sets.
    x = (bunch.images * (255.0 / 16.0)).round().astype(np.uint8)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    return ArrayDataset(
        name="digits",
        x=x,
        y=y,
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        source="sklearn.datasets.load_digits",
    )
