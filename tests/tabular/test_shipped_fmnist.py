"""The shipped Fashion-MNIST table ``fmnist_tiny``: found by name, the whole space, whole learning
curves, and samplers replay on it as on ``mnist1d_tiny``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasbench.space.spec import load_space
from nasbench.tabular.proxy_eval import benchmark_target, score_proxies
from nasbench.tabular.replay import Budget, replay
from nasbench.tabular.selection import enumerate_space
from nasbench.tabular.table import CURVE_FIELDS, SHIPPED_DIR, load_benchmark, shipped_benchmarks

SHIPPED = SHIPPED_DIR / "fmnist_tiny.json"
SPACE = SHIPPED_DIR / "fmnist_tiny_space.yaml"
EPOCHS = 6
needs_debian_fashion = pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("fmnist_tiny")


def test_both_tables_ship_and_fmnist_tiny_loads_by_name(bench) -> None:
    assert {"mnist1d_tiny", "fmnist_tiny"} <= set(shipped_benchmarks())
    assert len(bench) == 80 and bench.budgets == (EPOCHS,) and bench.input_shape == (1, 28, 28)
    assert SHIPPED.stat().st_size < 1_000_000


def test_it_was_built_on_a_recorded_fashion_mnist_sample(bench) -> None:
    info = bench.info
    assert info["data"]["name"] == "fashion_mnist" and info["data"]["options"] == {"train_size": 15000}
    assert info["dataset"]["train_size"] == 15000 and info["dataset"]["test_size"] == 10000
    split = info["split"]
    assert (split["train"], split["val"], split["test"], split["test_is_official"]) == (10000, 5000, 10000, True)
    assert info["seeds"] == 1 and info["threads"] == 1
    assert info["provenance"]["dataset_hash"] == info["dataset"]["content_hash"]


def test_it_holds_every_architecture_of_its_shipped_space(bench) -> None:
    space = load_space(SPACE)
    assert bench.space == space and bench.cardinality == 80
    assert bench.exhaustive and not bench.infeasible
    assert {a.digest() for a in bench.archs} == {a.digest() for a in enumerate_space(space)}
    assert all(bench.lookup(a) == (i, True) for i, a in enumerate(bench.archs))
    assert {a.resolution for a in bench.archs} == {14}


def test_every_entry_has_figures_and_a_whole_curve(bench) -> None:
    assert (bench.params > 0).all() and (bench.flops > 0).all() and (bench.latency_ms > 0).all()
    for acc in (bench.val_acc, bench.test_acc):
        assert np.isfinite(acc).all() and ((acc > 0.1) & (acc <= 1)).all()  # all learnt beyond chance
    assert (bench.train_time_s > 0).all()
    for name in CURVE_FIELDS:
        assert bench.curves[name].shape == (80, EPOCHS) and np.isfinite(bench.curves[name]).all()
    assert bench.curves["val_acc"][:, -1] == pytest.approx(bench.val_acc[:, 0])
    # Training loss falls over the curve for the typical architecture.
    assert np.median(bench.curves["train_loss"][:, -1]) < np.median(bench.curves["train_loss"][:, 0])
    d = json.loads(SHIPPED.read_text())
    for entry in d["architectures"]:
        (run,) = entry["runs"]
        assert run["state"] == "complete" and run["curve"]["epoch"] == list(range(1, EPOCHS + 1))
        assert sum(run["curve"]["epoch_time_s"]) <= run["train_time_s"]


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_short_replay_runs_on_it(bench, sampler: str) -> None:
    run = replay(bench, sampler, 0, Budget(trials=20))
    assert len(run.entry) == 20 and all(run.exact)
    assert (run.regret >= 0).all() and run.oracle_test_acc == pytest.approx(bench.test_acc.max())
    assert np.diff(run.time_s).min() > 0  # the simulated clock advances by each stored training time
    assert replay(bench, sampler, 0, Budget(trials=20)).entry == run.entry  # deterministic per seed


@needs_debian_fashion
def test_proxies_score_it_on_the_sample_it_was_trained_on() -> None:
    target = benchmark_target("fmnist_tiny")
    assert target.data.options == {"train_size": 15000} and target.data.val_size == 5000
    result = score_proxies(target, ["synflow", "params"], n=8, batch_size=16)
    assert len(result.scores) == 8 and set(result.correlations["proxy"]) == {"synflow", "params"}
    assert (result.correlations["n"] == 8).all()
