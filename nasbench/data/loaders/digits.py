"""scikit-learn's digits: 1,797 grey 8x8 images of 10 digits, shipped with scikit-learn."""

from __future__ import annotations

import numpy as np

from nasbench.data.dataset import ArrayDataset
from nasbench.data.preprocess import Cast, Multiply, NativeInput, Preprocessing, Reshape, Round
from nasbench.data.registry import register_dataset

# Pixel values are 0..16; scaled to 0..255 uint8 like the other image sets. The reshape takes
# either of sklearn's arrays: images (N, 8, 8) or data (N, 64).
PREPROCESSING = Preprocessing(
    native=NativeInput(
        source="sklearn.datasets.load_digits()",
        arrays=("images", "data"),
        shape=("N", 8, 8),
        dtype="float64",
        value_range=(0.0, 16.0),
    ),
    steps=(Reshape(shape=(-1, 1, 8, 8)), Multiply(factor=255.0 / 16.0), Round(), Cast(dtype="uint8")),
)


@register_dataset("digits")
def load_digits() -> ArrayDataset:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return ArrayDataset(
        name="digits",
        x=PREPROCESSING.apply(bunch.images),
        y=bunch.target.astype(np.int64),
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        source="sklearn.datasets.load_digits",
        preprocessing=PREPROCESSING,
    )
