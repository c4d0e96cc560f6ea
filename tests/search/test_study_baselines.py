"""Baselines a study file lists (hand-written in the architecture notation, or zoo networks) are
trained by the search's final stage under the final protocol and stored with test accuracy."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from typer.testing import CliRunner

from nasbench.cli import app
from nasbench.errors import ConfigError
from nasbench.search.config import load_study
from nasbench.space.notation import parse_architecture
from nasbench.store import load_trials
from tests.search.helpers import quick_study, search

PLAIN = "s8 > conv1x16k3 > conv1x32k3/2 > relu bn"
BASELINES = f'[{{name: plain2, arch: "{PLAIN}"}}, {{zoo: mobilenet_v3_small}}]'
FINAL = "{top_k: 1, fidelity: {epochs: 2, train_fraction: 0.3}}"


def test_a_bad_baseline_is_refused_when_the_study_is_read(tmp_path):
    study = quick_study(tmp_path, "bad", baselines='[{name: p, arch: "s8 > conv1x16k4 > relu bn"}]')
    with pytest.raises(ConfigError) as e:
        load_study(study)
    assert "field 'baselines[0]'" in str(e.value) and "'conv1x16k4'" in str(e.value) and "\n" not in str(e.value)
    twice = quick_study(tmp_path, "twice", baselines="[{zoo: resnet18}, {zoo: resnet18}]")
    with pytest.raises(ConfigError, match="the name 'resnet18' is used twice"):
        load_study(twice)
    neither = quick_study(tmp_path, "neither", baselines="[{name: x}]")
    with pytest.raises(ConfigError, match="give either arch"):
        load_study(neither)


@pytest.mark.slow
def test_the_search_trains_the_study_baselines_under_the_final_protocol(tmp_path, ray_local):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = quick_study(tmp_path, "listed", budget="{trials: 2}", final=FINAL, baselines=BASELINES)
    search(study, url)
    df = load_trials(url, "listed", with_arch=True)
    base = df[df["family"] == "baseline"].set_index("name")
    assert sorted(base.index) == ["mobilenet_v3_small", "plain2"]
    assert (base["state"] == "complete").all() and (base["stage"] == "final").all()
    assert base["test_acc"].between(0, 1).all() and (base["epochs_run"] == 2).all()
    assert base.iloc[0]["fidelity"] == {"epochs": 2, "train_fraction": 0.3, "resolution": None, "train_on_val": False}
    assert base.loc["plain2", "arch"] == parse_architecture(PLAIN)
    assert base.loc["mobilenet_v3_small", "arch"] is None

    # Re-running the study trains nothing again; `nasbench baseline STUDY` trains only what is new.
    search(study, url)
    assert len(load_trials(url, "listed")) == len(df)
    runner = CliRunner()
    same = runner.invoke(app, ["baseline", str(study), "--db", url])
    assert same.exit_code == 0, same.output
    assert "already complete, skipped: plain2, mobilenet_v3_small" in same.output
    new = runner.invoke(app, ["baseline", "listed", "--arch", "wide=s16 > conv1x32k3/2 > relu bn", "--db", url])
    assert new.exit_code == 0, new.output
    assert "wide complete" in new.output
    rows = load_trials(url, "listed").query("family == 'baseline'").set_index("name")
    assert rows.loc["wide", "test_acc"] > 0 and rows["number"].is_unique

    bad = runner.invoke(app, ["baseline", "listed", "--arch", "s16 > conv1x32k3/3 > relu bn", "--db", url])
    assert bad.exit_code == 2 and "'conv1x32k3/3'" in bad.output

    # The report names the baselines, and without replicates says how to make them.
    from nasbench.report.leaderboard import write_report

    md = write_report(url, "listed", tmp_path / "reports", ["md"])[0].read_text()
    assert "plain2" in md and "hand-written baseline" in md and "zoo baseline" in md
    assert "## Does the search beat random search and a hand-written network?" in md
    assert "Not enough seeds" in md and f"nasbench replicate {study} --seeds 0,1,2" in md


@pytest.mark.slow
def test_a_final_protocol_that_trains_on_the_validation_split_chooses_by_the_search(tmp_path, ray_local):
    """`final.fidelity.train_on_val`: finalists and baselines train on training + validation, so
    they have test accuracy and no validation figure; reports choose by the search's validation."""
    url = f"sqlite:///{tmp_path / 'results.db'}"
    final = "{top_k: 2, fidelity: {epochs: 2, train_fraction: 0.3, train_on_val: true}}"
    study = quick_study(
        tmp_path,
        "refit",
        budget="{trials: 3}",
        final=final,
        baselines=f'[{{name: plain2, arch: "{PLAIN}"}}]',
        targets="[{name: any, test_acc: 0.1}]",
    )
    search(study, url)
    df = load_trials(url, "refit")
    finals = df[df["stage"] == "final"]
    assert len(finals) == 3 and (finals["state"] == "complete").all()
    assert finals["test_acc"].between(0.1, 1).all() and finals["val_acc"].isna().all()
    assert all(f["train_on_val"] for f in finals["fidelity"])

    from nasbench.report.leaderboard import write_report

    md = write_report(url, "refit", tmp_path / "reports", ["md"])[0].read_text()
    assert "on the training and validation splits (no validation figure), test measured" in md
    assert "(solid: search fidelity; the final re-trainings measure no validation figure)" in md
    header = next(line for line in md.splitlines() if line.startswith("| rank |"))
    assert "| val acc |" in header and "final val acc" not in header  # no column of blanks
    searched = df[(df["stage"] == "search") & df["number"].isin(finals["number"])]
    chosen = int(searched.sort_values(["val_acc", "number"], ascending=[False, True]).iloc[0]["number"])
    assert f"any (test accuracy ≥ 10.00%): met — trial {chosen} " in md
    plain2 = df[df["name"] == "plain2"].iloc[0]
    assert pd.isna(plain2["val_acc"]) and plain2["fidelity"]["train_on_val"]
    # The equal-budget section finds the baseline at the final protocol; the summary gives its one figure.
    chosen_test = finals.set_index("number").loc[chosen, "test_acc"]
    assert f"| 0 | {100 * chosen_test:.2f}% | - | {100 * plain2['test_acc']:.2f}% |" in md
    assert f"which reaches {100 * plain2['test_acc']:.2f}% test under the same protocol at the final training's" in md


def test_a_time_per_training_belongs_to_the_final_protocol_not_the_search(tmp_path):
    study = quick_study(tmp_path, "timed", fidelity="{epochs: 3, time: 5m}")
    with pytest.raises(ConfigError) as e:
        load_study(study)
    assert "field 'fidelity.time'" in str(e.value) and "final.fidelity" in str(e.value) and "\n" not in str(e.value)
    final = quick_study(tmp_path, "final", final="{top_k: 1, fidelity: {epochs: 12, time: 35m}}")
    assert load_study(final).config.final.fidelity.time == 2100.0


@pytest.mark.slow
def test_a_final_protocol_with_a_time_trains_each_network_the_epochs_that_fit(tmp_path, ray_local):
    """`final.fidelity.time`: the finalist and the baseline each train as many of the 1,000 epochs as
    fit in a second (far fewer), are tested, and complete; the report says how they were trained."""
    url = f"sqlite:///{tmp_path / 'results.db'}"
    final = "{top_k: 1, fidelity: {epochs: 1000, train_fraction: 0.3, time: 1s}}"
    baselines = f'[{{name: p, arch: "{PLAIN}"}}]'
    study = quick_study(tmp_path, "timed", budget="{trials: 2}", final=final, baselines=baselines)
    search(study, url)
    finals = load_trials(url, "timed").query("stage == 'final'")
    assert sorted(finals["family"]) == ["baseline", "searched"] and (finals["state"] == "complete").all()
    assert finals["epochs_run"].between(1, 999).all() and finals["test_acc"].between(0, 1).all()
    assert all(f["time"] == 1.0 and f["epochs"] == 1000 for f in finals["fidelity"])

    from nasbench.report.leaderboard import write_report

    md = write_report(url, "timed", tmp_path / "reports", ["md"])[0].read_text()
    assert "each training as many of its epochs as fit in 1 s (measured at its start)" in md

    # An export re-trains the finalist at the epochs its allowance gave it here, not at a new pace.
    from nasbench.store import open_ledger
    from nasbench.store.exports import export_job

    job = export_job(open_ledger(url), "timed")
    searched_final = finals.set_index("family").loc["searched"]
    assert job.trial == searched_final["number"] and job.fidelity.time is None
    assert job.fidelity.epochs == searched_final["epochs_run"] and job.fidelity.train_fraction == 0.3

    # The study file's final protocol changes: re-running trains the finalist and the baseline again
    # at the new one (the finalist's row replaced), and no searched candidate.
    fixed = "{top_k: 1, fidelity: {epochs: 2, train_fraction: 0.3}}"
    study = quick_study(tmp_path, "timed", budget="{trials: 2}", final=fixed, baselines=baselines)
    search(study, url)
    assert "training them again" in study.with_suffix(".log").read_text()
    # The study's record names the file it now follows, so a report's study-file hash is that file's.
    stored = open_ledger(url).find_study("timed")
    assert stored is not None and stored.config.final is not None and stored.config.final.fidelity.time is None
    now = hashlib.sha256(study.read_text().encode()).hexdigest()
    assert stored.study_file_hash == now
    # and so do the provenance records of the finalist and the baseline trained under it.
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from nasbench.store.models import TrialRow

    engine = create_engine(url)
    with Session(engine) as s:
        finals_now = select(TrialRow.fidelity_json, TrialRow.provenance_json).where(TrialRow.stage == "final")
        rows = s.execute(finals_now).all()
    engine.dispose()
    retrained = [prov["study_file_hash"] for fid, prov in rows if "time" not in fid]
    assert len(retrained) == 2 and set(retrained) == {now}
    df = load_trials(url, "timed")
    assert len(df.query("stage == 'search'")) == 2
    again = df.query("stage == 'final'").set_index("family")
    assert again.loc["searched", "epochs_run"] == 2 and "time" not in again.loc["searched", "fidelity"]
    assert again.loc["searched", "number"] == finals.set_index("family").loc["searched", "number"]
    base = again.loc[["baseline"]]  # one row per fidelity: the timed one is kept beside the new one
    assert sorted("time" in f for f in base["fidelity"]) == [False, True] and (base["state"] == "complete").all()
    assert base[[("time" not in f) for f in base["fidelity"]]]["epochs_run"].tolist() == [2]
