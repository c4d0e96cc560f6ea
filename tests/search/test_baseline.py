"""``nasbench baseline``: zoo networks trained under a study's protocol, stored beside its trials."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from nasbench.cli import app
from nasbench.errors import ConfigError
from nasbench.search.baseline import run_baseline
from nasbench.search.resume import open_study
from nasbench.search.runner import prepare
from nasbench.store import load_epochs, load_trials, open_ledger
from tests.search.helpers import quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


MODELS = ["resnet18", "mobilenet_v3_small"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory, ray_local):
    """A finished one-trial study whose final fidelity (2 epochs on 20%) differs from its search's."""
    folder = tmp_path_factory.mktemp("baseline")
    url = f"sqlite:///{folder / 'results.db'}"
    study = quick_study(folder, "with-baselines", budget="{trials: 1}",
                        final="{top_k: 0, fidelity: {epochs: 2, train_fraction: 0.2}}")
    search(study, url)
    return url, study


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"))


def test_baselines_are_trained_under_the_study_protocol_and_stored(searched):
    url, study = searched
    out = run_baseline("with-baselines", MODELS, open_ledger(url), console=quiet())
    assert out.trained == MODELS and out.states == {m: "complete" for m in MODELS}

    df = load_trials(url, "with-baselines")
    base = df[df["family"] == "baseline"].set_index("name")
    assert sorted(base.index) == sorted(MODELS)
    assert (base["stage"] == "final").all() and (base["number"] < 0).all() and base["number"].is_unique
    assert base["test_acc"].between(0, 1).all() and base["val_acc"].between(0, 1).all()
    assert (base["epochs_run"] == 2).all() and base["latency_ms"].gt(0).all()
    # Params and FLOPs as measured on the study's inputs (digits: 1x8x8, 10 classes).
    assert base.loc["resnet18", "params"] == 11_172_810 and base.loc["resnet18", "flops"] == 69_289_984
    assert base.loc["mobilenet_v3_small", "params"] < base.loc["resnet18", "params"]
    searched_fid = df[df["family"] == "searched"].iloc[0]["fidelity"]
    stored = {"epochs": 2, "train_fraction": 0.2, "resolution": None, "train_on_val": False}
    assert base.iloc[0]["fidelity"] == stored != searched_fid
    assert set(load_epochs(url, "with-baselines")["name"]) >= set(MODELS)

    # Re-running skips what is complete and adds only the new model, numbered after the others.
    again = run_baseline(str(study), ["resnet18", "mobilenet_v2"], open_ledger(url), console=quiet())
    assert again.skipped == ["resnet18"] and again.trained == ["mobilenet_v2"]
    numbers = load_trials(url, "with-baselines").query("family == 'baseline'").set_index("name")["number"]
    assert numbers["mobilenet_v2"] == min(base["number"]) - 1
    assert numbers["resnet18"] == base.loc["resnet18", "number"]


@pytest.mark.parametrize("models, message", [
    (["resnet19"], "unknown zoo model 'resnet19'; choose one of: alexnet"),
    (["lenet5"], "zoo model 'lenet5' cannot take the study's 1x8x8 inputs"),
    ([], "--models: give at least one zoo model name"),
])
def test_bad_models_are_refused_before_training(searched, models, message):
    url, _ = searched
    before = len(load_trials(url, "with-baselines"))
    with pytest.raises(ConfigError, match=message):
        run_baseline("with-baselines", models, open_ledger(url), console=quiet())
    assert len(load_trials(url, "with-baselines")) == before


def test_unknown_study_names_the_studies(searched):
    url, _ = searched
    with pytest.raises(ConfigError, match="no study named 'nope' in the database; studies: with-baselines"):
        run_baseline("nope", ["resnet18"], open_ledger(url), console=quiet())


def test_one_dimensional_data_is_refused(tmp_path):
    # The study exists in the database (created, never run): nothing is trained either way.
    url = f"sqlite:///{tmp_path / 'r.db'}"
    p = prepare(str(quick_study(tmp_path, "signals", data="{name: mnist1d}")))
    open_study(open_ledger(url), p.loaded, p.task)
    with pytest.raises(ConfigError, match="zoo model 'resnet18' is 2D-only, but the study's data set is 1D"):
        run_baseline("signals", ["resnet18"], open_ledger(url), console=quiet())


def test_cli_command_reports_and_exits(searched):
    url, _ = searched
    ok = CliRunner().invoke(app, ["baseline", "with-baselines", "--models", "resnet18", "--db", url])
    assert ok.exit_code == 0, ok.output
    assert "already complete, skipped: resnet18" in ok.output and "resnet18 complete" in ok.output
    bad = CliRunner().invoke(app, ["baseline", "with-baselines", "--models", "lenet5", "--db", url])
    assert bad.exit_code == 2 and "cannot take the study's 1x8x8 inputs" in bad.output


def test_search_fidelity_baselines_get_each_candidates_budget_and_are_kept_apart(searched):
    url, _ = searched
    out = run_baseline("with-baselines", ["resnet18"], open_ledger(url), console=quiet(), fidelity="search")
    assert out.trained == ["resnet18"] and out.states == {"resnet18": "complete"}
    df = load_trials(url, "with-baselines")
    searched_fid = df[df["family"] == "searched"].iloc[0]["fidelity"]
    rows = df[(df["family"] == "baseline") & (df["name"] == "resnet18")]
    at_search = rows[rows["fidelity"].apply(lambda f: f == searched_fid)]
    assert len(at_search) == 1 and at_search.iloc[0]["epochs_run"] == 1
    assert rows["number"].is_unique  # beside the final-fidelity run, not over it

    again = run_baseline("with-baselines", ["resnet18"], open_ledger(url), console=quiet(), fidelity="search")
    assert again.skipped == ["resnet18"] and again.trained == []
    with pytest.raises(ConfigError, match="--fidelity 'medium': choose final or search"):
        run_baseline("with-baselines", ["resnet18"], open_ledger(url), console=quiet(), fidelity="medium")


def test_a_study_file_takes_baselines_before_its_search_and_the_search_continues_the_study(tmp_path, ray_local):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = quick_study(tmp_path, "first-baselines", budget="{trials: 1}",
                        final="{top_k: 0, fidelity: {epochs: 1, train_fraction: 0.2}}",
                        baselines='[{name: tiny, arch: "s8 > conv1x16k3/2 > relu bn"}]')
    # Bad input first: a network the data cannot take is refused, and no study is recorded.
    with pytest.raises(ConfigError, match="lenet5"):
        run_baseline(str(study), ["lenet5"], open_ledger(url), console=quiet())
    assert open_ledger(url).find_study("first-baselines") is None

    out = run_baseline(str(study), [], open_ledger(url), console=quiet())
    assert out.trained == ["tiny"] and out.states == {"tiny": "complete"}
    _, df = search(study, url)  # the same study: its baseline is kept beside the searched trial
    assert sorted(df["family"]) == ["baseline", "searched"]
    assert (df.set_index("family").loc["baseline", "test_acc"] > 0.1).all()
