"""Synthetic tabular benchmarks with known values, in the benchmark file's dict form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nasbench.space.architecture import Architecture
from nasbench.space.spec import parse_space
from nasbench.tabular.selection import enumerate_space
from nasbench.tabular.table import FORMAT, VERSION, Benchmark, benchmark_from_dict

# 2 blocks x 2 kernels x 5 widths, one stage, no conditional choice: 20 architectures, and a
# random sampler draws each with probability 1/20.
FLAT_SPACE: dict[str, Any] = {
    "name": "flat20", "ndim": [1], "num_stages": [1],
    "stage": {"block": ["plain", "residual"], "kernel": [3, 5], "width": [8, 16, 24, 32, 48],
              "downsample": ["stride"]},
}

# One or two strided stages: on inputs of length 2 every two-stage network is infeasible.
TWO_DEPTH_SPACE: dict[str, Any] = {
    "name": "two_depth", "ndim": [1], "num_stages": [1, 2],
    "stage": {"block": ["plain", "residual"], "width": [8, 16], "downsample": ["stride"]},
}


def space_archs(space: dict[str, Any]) -> list[Architecture]:
    archs = enumerate_space(parse_space(space))
    assert archs is not None
    return archs


def _run(epochs: int, val: float, test: float, seconds: float) -> dict[str, Any]:
    return {"epochs": epochs, "seed": 0, "state": "complete", "val_acc": val, "val_loss": 1.0 - val,
            "test_acc": test, "test_loss": 1.0 - test, "train_time_s": seconds, "eval_time_s": 0.01,
            "curve": {"epoch": list(range(1, epochs + 1)), "train_loss": [1.0] * epochs,
                      "val_loss": [1.0 - val] * epochs, "val_acc": [val] * epochs,
                      "epoch_time_s": [seconds / epochs] * epochs}}


def synthetic_dict(archs: Sequence[Architecture], val: Sequence[float], test: Sequence[float],
                   seconds: Sequence[float], space: dict[str, Any] = FLAT_SPACE, input_size: int = 16,
                   cardinality: int | None = None, name: str = "synthetic",
                   infeasible: Sequence[tuple[Architecture, str]] = ()) -> dict[str, Any]:
    """A one-budget (1 epoch), one-seed benchmark holding ``archs`` with the given values."""
    entries = [{"arch": a.to_dict(), "params": 100 + i, "flops": 1000 + i, "latency_ms": 0.1,
                "runs": [_run(1, v, t, s)]} for i, (a, v, t, s) in enumerate(zip(archs, val, test, seconds))]
    entries += [{"arch": a.to_dict(), "infeasible_reason": reason} for a, reason in infeasible]
    return {
        "format": FORMAT, "version": VERSION, "name": name, "space": space,
        "data": {"name": "synthetic", "options": {}, "val_size": 0.1, "test_size": 0.2, "split_seed": 0},
        "dataset": {"name": "synthetic", "in_channels": 1, "input_size": [input_size], "num_classes": 10},
        "split": {}, "recipe": {}, "budgets": [1], "seeds": 1, "sample_seed": 0, "threads": 1,
        "cardinality": len(archs) + len(infeasible) if cardinality is None else cardinality,
        "provenance": {}, "architectures": entries,
    }


def synthetic_benchmark(values: Sequence[float], seconds: Sequence[float] | None = None,
                        name: str = "synthetic") -> Benchmark:
    """The 20-architecture flat space, validation = test accuracy = ``values`` in enumeration order."""
    archs = space_archs(FLAT_SPACE)
    assert len(values) == len(archs) == 20
    seconds = [10.0 + i for i in range(20)] if seconds is None else seconds
    return benchmark_from_dict(synthetic_dict(archs, values, values, seconds, name=name))
