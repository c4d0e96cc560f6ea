"""An exported model's recorded preprocessing, implemented the way a user would: NumPy only,
from the metadata JSON alone (no nasbench code), one branch per recorded operation."""

from __future__ import annotations

from typing import Any

import numpy as np


def preprocess(x: np.ndarray, record: dict[str, Any]) -> np.ndarray:
    """``x``, one of the data set's native arrays, through the recorded ``steps``, in order."""
    for step in record["steps"]:
        op = step["op"]
        if op == "reshape":
            x = x.reshape(step["shape"])
        elif op == "expand_dims":
            x = np.expand_dims(x, step["axis"])
        elif op == "moveaxis":
            x = np.moveaxis(x, step["source"], step["destination"])
        elif op == "multiply":
            x = x * step["factor"]
        elif op == "divide":
            x = x / x.dtype.type(step["divisor"])
        elif op == "round":
            x = np.round(x)
        elif op == "cast":
            x = x.astype(step["dtype"])
        elif op == "resize":
            assert step["mode"] == "linear" and step["coordinate_transformation"] == "half_pixel"
            assert step["antialias"] is False
            for axis, size in enumerate(step["size"], start=2):
                weights = linear_weights(x.shape[axis], size)
                x = np.moveaxis(np.tensordot(weights, x, axes=([1], [axis])), 0, axis)
        elif op == "normalize":
            shape = [1] * x.ndim
            shape[step["axis"]] = -1
            mean = np.float32(step["mean"]).reshape(shape)
            std = np.float32(step["std"]).reshape(shape)
            x = (x - mean) / std
        else:
            raise AssertionError(f"unknown preprocessing operation {op!r}")
    return x


def linear_weights(n: int, m: int) -> np.ndarray:
    """(m, n) float32 weights of linear interpolation from n to m samples, half-pixel centres,
    coordinates below 0 clamped to 0 and the last neighbour clamped to n - 1."""
    weights = np.zeros((m, n), dtype=np.float32)
    for i in range(m):
        src = max((i + 0.5) * n / m - 0.5, 0.0)
        lo = int(np.floor(src))
        frac = src - lo
        weights[i, lo] += 1 - frac
        weights[i, min(lo + 1, n - 1)] += frac
    return weights
