"""A study's ``logging`` field: every trial's curves in the TensorBoard, CSV or MLflow logger it
names, one run per trial, read back with each tool's own reader and checked against the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nasbench.cli import app
from nasbench.errors import ConfigError
from nasbench.search.config import load_study
from nasbench.store import load_epochs
from tests.search.helpers import quick_study, search

TWO_EPOCHS = "{epochs: 2, train_fraction: 0.3}"


@dataclass
class LoggedRun:
    """What one logger holds of one run: its tags (or hyperparameters) and its val_acc curve."""

    tags: dict[str, Any]
    val_acc: list[tuple[int, float]]
    extra: dict[str, Any] = field(default_factory=dict)


def read_csv(root: Path) -> dict[tuple[str, int], LoggedRun]:
    import pandas as pd

    runs = {}
    for metrics in sorted(root.glob("*/*/version_*/metrics.csv")):
        hparams = yaml.safe_load((metrics.parent / "hparams.yaml").read_text())
        df = pd.read_csv(metrics)
        curve = df.dropna(subset=["val_acc"])
        runs[(hparams["stage"], hparams["trial"])] = LoggedRun(
            hparams,
            list(zip(curve["step"].astype(int), curve["val_acc"], strict=True)),
            {"columns": set(df.columns), "path": metrics},
        )
    return runs


def read_tensorboard(root: Path) -> dict[tuple[str, int], LoggedRun]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    runs = {}
    for events in sorted(root.glob("*/*/version_*/events.out.tfevents.*")):
        acc = EventAccumulator(str(events.parent))
        acc.Reload()
        content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        start = HParamsPluginData.FromString(content).session_start_info
        hparams = {k: v.string_value or v.number_value for k, v in start.hparams.items()}
        curve = [(e.step, e.value) for e in acc.Scalars("val_acc")]
        runs[(hparams["stage"], int(hparams["trial"]))] = LoggedRun(
            hparams, curve, {"scalars": set(acc.Tags()["scalars"]), "path": events}
        )
    return runs


def read_mlflow(root: Path, study: str) -> dict[tuple[str, int], LoggedRun]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(study)
    assert experiment is not None
    runs = {}
    for r in client.search_runs([experiment.experiment_id]):
        curve = [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, "val_acc")]
        key = (r.data.tags["stage"], int(r.data.tags["trial"]))
        assert key not in runs, f"two runs for {key}"
        runs[key] = LoggedRun(
            r.data.tags,
            sorted(curve),
            {"name": r.info.run_name, "status": r.info.status, "params": r.data.params, "metrics": r.data.metrics},
        )
    return runs


def logged_study(tmp_path: Path, name: str, logger: str, **overrides: str) -> tuple[str, Path, Path]:
    """The results database, log folder and file of a quick study logging to ``logger``."""
    logs = tmp_path / "logs"
    study = quick_study(tmp_path, name, logging=f"{{logger: {logger}, dir: {logs}}}", **overrides)
    return f"sqlite:///{tmp_path / 'results.db'}", logs, study


@pytest.mark.slow
@pytest.mark.parametrize("logger", ["csv", "tensorboard", "mlflow"])
def test_each_trial_logs_one_run_whose_curve_is_the_stores(tmp_path, ray_local, logger):
    url, logs, study = logged_study(
        tmp_path,
        f"logged-{logger}",
        logger,
        budget="{trials: 2}",
        fidelity=TWO_EPOCHS,
        final=f"{{top_k: 1, fidelity: {TWO_EPOCHS}}}",
    )
    out, trials = search(study, url)
    assert out.exit_code == 0, out
    trained = trials[trials["state"] == "complete"]
    assert sorted(trained["stage"]) == ["final", "search", "search"]

    if logger == "csv":
        runs = read_csv(logs)
    elif logger == "tensorboard":
        runs = read_tensorboard(logs)
    else:
        runs = read_mlflow(logs, out.study)
    assert set(runs) == {(r.stage, r.number) for r in trained.itertuples()}, "one run per trial"

    epochs = load_epochs(url, out.study)
    for t in trained.itertuples():
        run = runs[(t.stage, t.number)]
        assert run.tags["study"] == out.study
        assert run.tags["architecture"] == t.name  # the canonical name
        stored = epochs[(epochs["stage"] == t.stage) & (epochs["number"] == t.number)]
        expected = list(zip(stored["epoch"], stored["val_acc"], strict=True))
        assert [s for s, _ in run.val_acc] == [1, 2]
        assert run.val_acc == [(e, pytest.approx(v, rel=1e-6)) for e, v in expected]

    final = runs[("final", int(trained[trained["stage"] == "final"]["number"].iloc[0]))]
    if logger == "csv":
        assert {"train_loss", "val_loss", "val_acc", "test_acc", "test_loss"} <= final.extra["columns"]
        assert final.extra["path"].parts[-4:-2] == ("final", f"trial-{final.tags['trial']}")
        assert final.tags["epochs"] == 2 and final.tags["seed"] == 0 and final.tags["params"] > 0
    elif logger == "tensorboard":
        assert {"train_loss", "val_loss", "val_acc", "test_acc"} <= final.extra["scalars"]
        assert final.tags["flops"] > 0 and final.tags["epochs"] == 2
    else:
        assert final.extra["name"] == f"final-trial-{final.tags['trial']}"
        assert final.extra["status"] == "FINISHED"
        assert {"test_acc", "test_loss", "train_loss", "val_loss"} <= set(final.extra["metrics"])
        assert final.extra["params"]["epochs"] == "2" and int(final.extra["params"]["params"]) > 0


def study_with(tmp_path: Path, logging: str) -> Path:
    return quick_study(tmp_path, "logs", logging=logging)


@pytest.mark.parametrize(
    ("logging", "message"),
    [
        ("{logger: wandb}", "field 'logging.logger': Input should be 'tensorboard', 'csv' or 'mlflow'."),
        ("{logger: csv, folder: x}", "field 'logging.folder': unknown field."),
        ("{dir: x}", "field 'logging.logger': Field required."),
        ("{logger: csv, dir: [1]}", "field 'logging.dir': Input should be a valid string."),
    ],
)
def test_a_bad_logging_field_is_one_sentence_naming_it(tmp_path, logging, message):
    with pytest.raises(ConfigError) as e:
        load_study(study_with(tmp_path, logging))
    assert str(e.value) == f"{tmp_path / 'logs.yaml'}: {message}"


def test_the_log_folder_is_absolute_before_any_trial_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = load_study(study_with(tmp_path, "csv")).config.logging
    assert default is not None and default.dir == str(tmp_path / "nasbench_logs" / "logs")
    relative = load_study(study_with(tmp_path, "{logger: tensorboard, dir: runs/here}")).config.logging
    assert relative is not None and relative.dir == str(tmp_path / "runs" / "here")
    assert not (tmp_path / "nasbench_logs").exists() and not (tmp_path / "runs").exists()  # nothing written


def test_the_command_line_logger_overrides_the_study_field(tmp_path):
    path = study_with(tmp_path, f"{{logger: csv, dir: {tmp_path / 'kept'}}}")
    cfg = load_study(path, "mlflow").config
    assert cfg.logging is not None and cfg.logging.logger == "mlflow" and cfg.logging.dir == str(tmp_path / "kept")
    assert load_study(path, "none").config.logging is None
    no_field = quick_study(tmp_path, "plain")
    added = load_study(no_field, "tensorboard").config.logging
    assert added is not None and added.logger == "tensorboard"
    with pytest.raises(ConfigError, match=r"^--logger: unknown logger 'wandb'; choose from tensorboard, csv, mlflow"):
        load_study(path, "wandb")
    # The logger is not part of what makes the study: a resumed study may change it.
    assert load_study(path, "none").config.identity() == load_study(path).config.identity()


@pytest.mark.parametrize(("logger", "package"), [("mlflow", "mlflow"), ("tensorboard", "tensorboard")])
def test_a_missing_logger_package_names_the_extra_at_load(tmp_path, monkeypatch, logger, package):
    monkeypatch.setitem(sys.modules, package, None)  # how Python marks a module as not importable
    with pytest.raises(ConfigError) as e:
        load_study(study_with(tmp_path, logger))
    assert str(e.value) == (
        f"{tmp_path / 'logs.yaml'}: field 'logging.logger': the {logger} logger needs the package {package}, "
        "which is not installed; install nasbench's extra 'loggers' (pip install 'nasbench[loggers]')."
    )
    assert not (tmp_path / "nasbench_logs").exists()


@pytest.mark.slow
def test_pruned_trials_end_killed_at_the_epoch_they_reached(tmp_path, ray_local):
    # One trial at a time (2 CPUs per trial on 2 CPUs): later trials meet the rungs earlier ones filled.
    url, logs, study = logged_study(
        tmp_path,
        "logged-asha",
        "mlflow",
        sampler="{name: random}",
        budget="{trials: 6}",
        fidelity="{epochs: 3, train_fraction: 0.3}",
        resources="{cpu: 2}",
        scheduler="{name: asha, grace_period: 1, reduction_factor: 2}",
    )
    out, trials = search(study, url)
    assert set(trials["state"]) == {"complete", "pruned"}, trials["state"]
    runs = read_mlflow(logs, out.study)
    assert set(runs) == {("search", n) for n in trials["number"]}
    epochs = load_epochs(url, out.study)
    for t in trials.itertuples():
        run = runs[("search", t.number)]
        assert run.extra["status"] == ("FINISHED" if t.state == "complete" else "KILLED"), (t.state, run.extra)
        stored = epochs[epochs["number"] == t.number]
        assert [s for s, _ in run.val_acc] == list(stored["epoch"]) == list(range(1, t.epochs_run + 1))


@pytest.mark.slow
def test_a_diverged_trial_ends_its_run_failed(tmp_path, ray_local):
    diverging = "{optimizer: sgd, lr: 1.0e+30, batch_size: 64}"
    url, logs, study = logged_study(tmp_path, "logged-diverge", "mlflow", budget="{trials: 1}", recipe=diverging)
    out, trials = search(study, url)
    assert list(trials["state"]) == ["failed"]
    (run,) = read_mlflow(logs, out.study).values()
    assert run.extra["status"] == "FAILED" and run.val_acc == []


@pytest.mark.slow
def test_the_command_line_option_logs_searches_and_baselines_under_the_default_folder(tmp_path, monkeypatch, ray_local):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = quick_study(tmp_path, "cli-logged", budget="{trials: 1}")  # no logging field
    searched = CliRunner().invoke(app, ["search", str(study), "--db", url, "--logger", "tensorboard"])
    assert searched.exit_code == 0, searched.output
    # Baselines log as the stored study does (its folder was made absolute when the search began).
    monkeypatch.chdir(tmp_path.parent)
    based = CliRunner().invoke(
        app, ["baseline", "cli-logged", "--models", "resnet18", "--fidelity", "search", "--db", url]
    )
    assert based.exit_code == 0, based.output
    logs = tmp_path / "nasbench_logs" / "cli-logged"
    runs = read_tensorboard(logs)
    assert set(runs) == {("search", 0), ("final", -1)}
    assert runs[("final", -1)].tags["architecture"] == "resnet18"
    assert runs[("final", -1)].extra["path"].parent.parent.name == "baseline-resnet18"
    assert [s for s, _ in runs[("search", 0)].val_acc] == [1]
