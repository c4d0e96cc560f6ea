"""Surrogate benchmarks: held-out quality on the shipped table, the file, replay with surrogate values, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nasbench.cli import app as cli
from nasbench.errors import ConfigError
from nasbench.tabular.replay import Budget, replay
from nasbench.tabular.selection import enumerate_space
from nasbench.tabular.surrogate import Encoding, fit_surrogate, load_surrogate
from nasbench.tabular.table import SHIPPED_DIR, load_benchmark, read_benchmark_file
from tests.tabular.synthetic import synthetic_benchmark

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny():
    return load_benchmark("mnist1d_tiny")


def reduced_table(path: Path, keep: slice, name: str = "tiny_part") -> Path:
    """mnist1d_tiny holding only the architectures ``keep`` selects (a sample of its space)."""
    d = json.loads((SHIPPED_DIR / "mnist1d_tiny.json").read_text())
    d["architectures"], d["name"] = d["architectures"][keep], name
    path.write_text(json.dumps(d))
    return path


def test_every_architecture_of_the_space_gets_its_own_encoding(tiny) -> None:
    enc = Encoding.of_space(tiny.space)
    names = [f.name for f in enc.features]
    assert "s0.block=residual" in names and "s2.kernel" in names and "s2.present" in names
    assert "s0.width" not in names  # the space fixes it: no column
    rows = np.array([enc.encode(a) for a in enumerate_space(tiny.space)])
    assert len({r.tobytes() for r in rows}) == len(rows) == 80
    two_stages = next(a for a in tiny.archs if len(a.stages) == 2)
    x = dict(zip(names, enc.encode(two_stages), strict=True))
    assert x["s2.present"] == x["s2.kernel"] == x["s2.block=plain"] == x["s2.block=residual"] == 0


def test_held_out_tau_on_the_shipped_table_is_positive_and_the_file_predicts_the_same(tiny, tmp_path: Path) -> None:
    fitted = fit_surrogate(tiny, folds=5, seed=0)
    ev = fitted.evaluation
    assert ev.n == 80 and ev.tau > 0.2
    assert ev.rmse < np.std(tiny.val_acc[:, -1])  # better than predicting the mean
    assert ev.tau_flops == pytest.approx(0.4276, abs=1e-3)  # the FLOPs baseline on the same table
    loaded = load_surrogate(fitted.save(tmp_path / "s.json"))
    before, after = fitted.predict(tiny.archs), loaded.predict(tiny.archs)
    for target in ("val_acc", "test_acc", "train_time_s"):
        assert np.array_equal(before[target], after[target])
    assert loaded.evaluation == ev and loaded.origin == fitted.origin


def test_a_file_whose_refit_predicts_differently_or_that_lacks_a_field_is_refused(tiny, tmp_path: Path) -> None:
    path = fit_surrogate(tiny, model="ridge").save(tmp_path / "s.json")
    d = json.loads(path.read_text())
    d["fitted"]["val_acc"][0] += 0.01
    path.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="predicts differently"):
        load_surrogate(path)
    del d["training"]["flops"]
    path.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="missing or malformed"):
        load_surrogate(path)


def test_replay_of_a_reduced_table_takes_surrogate_values_for_what_it_lacks(tiny, tmp_path: Path) -> None:
    part = read_benchmark_file(reduced_table(tmp_path / "part.json", slice(0, None, 2)))
    assert len(part) == 40 and not part.exhaustive
    fitted = fit_surrogate(part, model="ridge")
    lacking = [a for a in tiny.archs if a.digest() not in part.index]
    predicted = set(np.round(fitted.predict(lacking)["val_acc"], 12))
    run = replay(part, "random", 0, Budget(trials=60), surrogate=fitted)
    marked = np.array(run.surrogate)
    assert 0 < marked.sum() < 60 and run.surrogate_values == marked.sum()
    entries, vals = np.array(run.entry), np.array(run.val_acc)
    assert (entries[marked] >= len(part)).all() and (entries[~marked] < len(part)).all()
    assert set(np.round(vals[marked], 12)) <= predicted  # surrogate trials carry its predictions
    assert np.array_equal(vals[~marked], part.val_acc[entries[~marked], -1])  # the others the table's
    again = replay(part, "random", 0, Budget(trials=60), surrogate=fitted)
    assert again.entry == run.entry and again.val_acc == run.val_acc
    without = replay(part, "random", 0, Budget(trials=60))
    assert not any(without.surrogate) and max(without.entry) < len(part)  # nearest entries instead


def test_cli_fits_saves_and_replays_with_surrogate_values(tmp_path: Path) -> None:
    table = reduced_table(tmp_path / "part.json", slice(0, None, 2))
    saved = tmp_path / "surrogate.json"
    fit = runner.invoke(cli, ["bench", "surrogate", str(table), "--folds", "4", "--seed", "1", "--out", str(saved)])
    assert fit.exit_code == 0, fit.output
    assert "Kendall tau" in fit.output and "RMSE" in fit.output and "of FLOPs" in fit.output and saved.is_file()
    out = tmp_path / "replay"
    result = runner.invoke(cli, ["bench", "replay", str(table), "--samplers", "random", "--seeds", "2",
                                 "--budget", "30trials", "--surrogate", str(saved), "--out", str(out)])
    assert result.exit_code == 0, result.output
    trials = pd.read_csv(out / "replay_trials.csv")
    valued = int(trials["surrogate"].sum())
    assert valued > 0 and f"surrogate values: {valued} of 60 trials" in " ".join(result.output.split())
    assert "Surrogate values:" in (out / "replay.md").read_text()
    assert json.loads((out / "replay.json").read_text())["settings"]["surrogate"].startswith(str(saved))


def one_line_error(args: list[str]) -> str:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def test_a_table_too_small_to_fit_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    table, out = reduced_table(tmp_path / "eight.json", slice(0, 8)), tmp_path / "s.json"
    line = one_line_error(["bench", "surrogate", str(table), "--out", str(out)])
    assert "8 architectures" in line and "at least 10" in line and not out.exists()
    line = one_line_error(["bench", "surrogate", "mnist1d_tiny", "--folds", "50", "--out", str(out)])
    assert "at least 100" in line and not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--folds", "1"], "--folds"),
    (["--model", "svm"], "ridge+boosting"),
    (["--features", "proxies"], "encoding+size"),
    (["--epochs", "5"], "--epochs 5"),
])
def test_bad_settings_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    assert message in one_line_error(["bench", "surrogate", "mnist1d_tiny", *args, "--out", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


def test_replay_refuses_a_surrogate_of_another_space_budget_or_format(tmp_path: Path) -> None:
    other = fit_surrogate(synthetic_benchmark([0.5 + 0.01 * i for i in range(20)])).save(tmp_path / "flat.json")
    replay_args = ["bench", "replay", "mnist1d_tiny", "--samplers", "random", "--seeds", "1", "--out", str(tmp_path)]
    assert "space" in one_line_error([*replay_args, "--surrogate", str(other)])
    tiny = fit_surrogate(load_benchmark("mnist1d_tiny"), model="ridge").save(tmp_path / "tiny.json")
    assert "--epochs 9" in one_line_error([*replay_args, "--epochs", "3", "--surrogate", str(tiny)])
    table = str(SHIPPED_DIR / "mnist1d_tiny.json")
    assert "not a nasbench surrogate file" in one_line_error([*replay_args, "--surrogate", table])
