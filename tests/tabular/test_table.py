"""The shipped MNIST-1D benchmark and loading benchmarks: consistent entries, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasbench.errors import ConfigError
from nasbench.tabular.table import SHIPPED_DIR, load_benchmark, shipped_benchmarks

SHIPPED = SHIPPED_DIR / "mnist1d_tiny.json"


def test_the_shipped_benchmark_loads_and_holds_the_whole_space() -> None:
    assert "mnist1d_tiny" in shipped_benchmarks()
    bench = load_benchmark("mnist1d_tiny")
    assert len(bench) == 80 and bench.exhaustive and bench.budgets == (1, 3, 9)
    assert bench.input_shape == (1, 40) and bench.info["data"]["name"] == "mnist1d"
    assert all(bench.lookup(a) == (i, True) for i, a in enumerate(bench.archs))
    assert SHIPPED.stat().st_size < 1_000_000


def test_the_shipped_entries_are_consistent() -> None:
    bench = load_benchmark(SHIPPED)
    assert (bench.params > 0).all() and (bench.flops > 0).all() and (bench.latency_ms > 0).all()
    for acc in (bench.val_acc, bench.test_acc):
        assert np.isfinite(acc).all() and ((acc >= 0) & (acc <= 1)).all()
    assert (bench.train_time_s > 0).all()
    # Each budget is its own run of that many epochs, so a longer budget costs more: per run the
    # times are wall times measured on shared CPUs (a stalled 1-epoch run can outlast a 3-epoch
    # one), so the typical (median) run is compared.
    assert (np.diff(np.median(bench.train_time_s, axis=0)) > 0).all()
    assert bench.curves["val_acc"].shape == (80, 9)
    assert bench.curves["val_acc"][:, -1] == pytest.approx(bench.val_acc[:, -1])


def test_the_shipped_curves_run_over_consecutive_epochs() -> None:
    d = json.loads(SHIPPED.read_text())
    for entry in d["architectures"]:
        for run in entry["runs"]:
            curve = run["curve"]
            assert curve["epoch"] == list(range(1, run["epochs"] + 1))
            assert all(len(curve[k]) == run["epochs"] for k in ("train_loss", "val_loss", "val_acc"))
            assert curve["val_acc"][-1] == run["val_acc"]
            assert sum(curve["epoch_time_s"]) <= run["train_time_s"]  # the fit holds every epoch


def test_to_frame_has_a_row_per_architecture_and_columns_per_budget() -> None:
    df = load_benchmark("mnist1d_tiny").to_frame()
    assert len(df) == 80 and df["digest"].is_unique
    assert {"val_acc@1", "test_acc@3", "train_time_s@9", "params", "flops", "latency_ms"} <= set(df.columns)


def test_unknown_benchmarks_are_refused_naming_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.json"):
        load_benchmark(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="nope"):
        load_benchmark("nope", f"sqlite:///{tmp_path / 'empty.db'}")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(ConfigError, match="not a nasbench benchmark file"):
        load_benchmark(bad)
