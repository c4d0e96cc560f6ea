"""The bench commands as a user runs them: `nasbench bench build|export|replay` and `nasbench proxies`."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nasbench.cli import app as cli
from nasbench.measure.proxies import PROXIES
from nasbench.tabular.table import SHIPPED_DIR, load_benchmark

runner = CliRunner()

# What the store records of MNIST-1D's default split (the numbers only matter for reading back).
DATASET = {"name": "mnist1d", "source": "", "ndim": 1, "in_channels": 1, "input_size": [40], "num_classes": 10,
           "train_size": 4000, "test_size": 1000, "content_hash": ""}
SPLIT = {"train": 3600, "val": 400, "test": 1000, "test_is_official": True}


def test_replay_of_the_shipped_benchmark_writes_the_report(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "replay", "mnist1d_tiny", "--samplers", "random,evolution", "--seeds", "3",
                                 "--budget", "30trials", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "random" in result.output and "evolution" in result.output and "6 replays" in result.output
    ranking = pd.read_csv(tmp_path / "ranking.csv")
    assert sorted(ranking["sampler"]) == ["evolution", "random"] and set(ranking["seeds"]) == {3}
    assert (tmp_path / "replay.html").is_file() and (tmp_path / "replay.md").is_file()


def test_replay_with_a_time_budget_and_a_lower_epoch_budget(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "replay", "mnist1d_tiny", "--samplers", "random", "--seeds", "2",
                                 "--budget", "60s", "--epochs", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    final = pd.read_csv(tmp_path / "final_regret.csv")
    assert (final["time_s"] <= 60).all() and (final["stopped"] == "time budget spent").all()


@pytest.mark.parametrize(("args", "message"), [
    (["bench", "replay", "mnist1d_tiny", "--budget", "soon"], "--budget"),
    (["bench", "replay", "mnist1d_tiny", "--samplers", "annealing", "--seeds", "1"], "annealing"),
    (["bench", "replay", "mnist1d_tiny", "--epochs", "5", "--seeds", "1"], "--epochs 5"),
    (["bench", "build", "--space", "nowhere.yaml", "--data", "mnist1d", "--n", "2"], "nowhere.yaml"),
    (["bench", "build", "--space", "nowhere.yaml", "--data", "mnist1d", "--n", "2", "--epochs", "1,x"], "--epochs"),
    (["bench", "build", "--space", "nowhere.yaml", "--data", "mnist1d", "--n", "2", "--data-options", "{x"],
     "--data-options"),
    (["bench", "build", "--space", "nowhere.yaml", "--data", "mnist1d", "--n", "2", "--data-options", "[1]"],
     "--data-options"),
    (["bench", "build", "--space", str(SHIPPED_DIR / "mnist1d_tiny_space.yaml"), "--data", "mnist1d", "--n", "2",
      "--data-options", '{"size": 3}'], "no option 'size'"),
])
def test_bad_input_exits_2_naming_the_value(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(cli, args + (["--out", str(tmp_path)] if "replay" in args else []))
    assert result.exit_code == 2
    assert message in result.output


def test_build_passes_loader_options_and_a_validation_count_into_the_benchmark(tmp_path: Path) -> None:
    import struct

    import numpy as np

    (tmp_path / "fashion").mkdir()
    rng = np.random.default_rng(0)
    for stem, array in [("train-images-idx3-ubyte", rng.integers(0, 256, (6, 28, 28))),
                        ("train-labels-idx1-ubyte", np.arange(6)),
                        ("t10k-images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28))),
                        ("t10k-labels-idx1-ubyte", np.arange(4))]:  # IDX files of Fashion-MNIST's format
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
        (tmp_path / "fashion" / stem).write_bytes(header + array.astype(np.uint8).tobytes())
    db = f"sqlite:///{tmp_path / 'b.db'}"
    options = f'{{"path": "{tmp_path / "fashion"}", "train_size": 5}}'
    result = runner.invoke(cli, ["bench", "build", "--space", str(SHIPPED_DIR / "fmnist_tiny_space.yaml"), "--data",
                                 "fashion_mnist", "--data-options", options, "--val-size", "2", "--n", "1",
                                 "--epochs", "1", "--name", "f", "--db", db])
    assert result.exit_code == 0, result.output
    info = load_benchmark("f", db).info
    assert info["data"]["options"]["train_size"] == 5 and info["data"]["val_size"] == 2
    assert info["dataset"]["train_size"] == 5
    assert (info["split"]["train"], info["split"]["val"], info["split"]["test"]) == (3, 2, 4)


def test_unknown_benchmark_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "replay", "nope", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2 and "nope" in result.output


@pytest.mark.slow  # several seconds: a CLI run over the whole shipped table
def test_proxies_on_the_shipped_benchmark_print_tau_for_each_proxy(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["proxies", "mnist1d_tiny", "--n", "16", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    corr = pd.read_csv(tmp_path / "mnist1d_tiny_proxy_correlations.csv")
    assert corr["proxy"].tolist() == [*PROXIES, "ensemble"] and (corr["n"] + corr["dropped"] == 16).all()
    lines = result.output.splitlines()
    for name, tau in zip(corr["proxy"], corr["tau"]):
        row = next(line for line in lines if f" {name} " in line)
        assert (f"{tau:.3f}" if math.isfinite(tau) else "nan") in row
    assert "higher = predicted better" in result.output
    scores = pd.read_csv(tmp_path / "mnist1d_tiny_proxy_scores.csv")
    assert len(scores) == 16 and scores["val_acc"].between(0, 1).all()


def test_proxies_of_a_study_rebuild_its_trials_from_the_database(tmp_path: Path) -> None:
    from nasbench.data.spec import DataSpec
    from nasbench.search.config import BudgetConfig, StudyConfig
    from nasbench.space.spec import load_space
    from nasbench.store import records
    from nasbench.store.db import open_engine, session_scope
    from nasbench.store.models import StudyRow
    from nasbench.tabular.selection import enumerate_space
    from nasbench.tabular.table import SHIPPED_DIR
    from nasbench.train.recipe import Fidelity

    url = f"sqlite:///{tmp_path / 'results.db'}"
    archs = enumerate_space(load_space(SHIPPED_DIR / "mnist1d_tiny_space.yaml"))[:6]
    with session_scope(open_engine(url)) as s:  # the rows a finished search leaves behind
        config = StudyConfig(name="s1", space="mnist1d_tiny_space.yaml", data=DataSpec(name="mnist1d"),
                             budget=BudgetConfig(trials=6), fidelity=Fidelity(epochs=3))
        study = StudyRow(name="s1", config_json=config.model_dump(mode="json"), space_json={},
                         dataset_json=DATASET, split_json=SPLIT)
        s.add(study)
        s.flush()
        for number, arch in enumerate(archs):
            trial = records.start_trial(s, study, number, arch.summary(), {"epochs": 3}, 0, arch)
            records.finish_trial(s, trial, "complete", val_acc=0.5 + 0.05 * number)
        failed = records.start_trial(s, study, 99, "x", {"epochs": 3}, 0, archs[0])
        records.finish_trial(s, failed, "failed", failure_reason="diverged")
    result = runner.invoke(cli, ["proxies", "s1", "--db", url, "--k", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "study s1" in result.output
    scores = pd.read_csv(tmp_path / "s1_proxy_scores.csv")
    assert len(scores) == 6 and sorted(scores["val_acc"]) == pytest.approx([0.5 + 0.05 * i for i in range(6)])


def test_proxies_of_an_unknown_name_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["proxies", "nothing", "--db", f"sqlite:///{tmp_path / 'r.db'}"])
    assert result.exit_code == 2 and "nothing" in result.output


def test_proxies_command_reports_the_ensemble_and_refuses_a_bad_name_in_one_line(tmp_path: Path) -> None:
    ok = runner.invoke(cli, ["proxies", "mnist1d_tiny", "--n", "10", "--batch-size", "16", "--proxies",
                             "synflow,params,ensemble", "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "ensemble" in pd.read_csv(tmp_path / "mnist1d_tiny_proxy_correlations.csv")["proxy"].tolist()
    bad = runner.invoke(cli, ["proxies", "mnist1d_tiny", "--proxies", "synflow,zenn", "--out", str(tmp_path)])
    assert bad.exit_code != 0
    lines = [line for line in bad.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "'zenn'" in lines[0] and "ensemble" in lines[0], bad.output


@pytest.mark.slow  # two worker processes, each importing torch
def test_replay_with_two_workers_says_so_and_describes_the_replay_gp(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "replay", "mnist1d_tiny", "--samplers", "random,gp", "--seeds", "2",
                                 "--budget", "20trials", "--workers", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "with 2 worker(s)" in result.output
    assert "grew by 10% and at least every 20 trial(s)" in (tmp_path / "replay.md").read_text()
