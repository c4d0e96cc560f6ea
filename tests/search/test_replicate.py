"""``nasbench replicate``: the study over several seeds and random search at the same budget, stored
as related studies, and the report's answer to "does the search beat random search?"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasbench.cli import app
from nasbench.errors import ConfigError
from nasbench.report.leaderboard import write_report
from nasbench.search.replicate import replicate_runs, replicate_seeds
from nasbench.store import load_trials, open_ledger
from tests.search.helpers import quick_study

PLAIN = "s8 > conv1x16k3 > conv1x32k3/2 > relu bn"


def two_trial_study(folder: Path, name: str) -> Path:
    """Two trials, one finalist, and the hand-written baseline plain2."""
    return quick_study(
        folder, name, budget="{trials: 2}", final="{top_k: 1, fidelity: {epochs: 1, train_fraction: 0.3}}",
        baselines=f'[{{name: plain2, arch: "{PLAIN}"}}]',
    )


def test_seeds_are_read_or_refused_in_one_line() -> None:
    assert replicate_seeds("0, 1,2,1") == [0, 1, 2]
    with pytest.raises(ConfigError, match="--seeds '0,x': 'x' is not an integer seed"):
        replicate_seeds("0,x")


def test_replicates_run_seed_by_seed_so_a_stopped_one_holds_paired_seeds() -> None:
    # None is the study itself (its own seed); (seed, random) a replicate.
    assert replicate_runs(0, [0, 1], random=True) == [None, (0, True), (1, False), (1, True)]
    assert replicate_runs(1, [0, 1], random=False) == [(0, False), None]


@pytest.mark.slow
def test_replicates_are_related_studies_and_the_report_compares_them(tmp_path, ray_local):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = two_trial_study(tmp_path, "rep")
    result = CliRunner().invoke(app, ["replicate", str(study), "--seeds", "0,1", "--db", url])
    assert result.exit_code == 0, result.output

    ledger = open_ledger(url)
    assert sorted(ledger.study_names()) == ["rep", "rep@random-seed0", "rep@random-seed1", "rep@seed1"]
    configs = {n: ledger.find_study(n).config for n in ledger.study_names()}
    assert configs["rep"].replicate is None
    for name, (seed, random) in {"rep@seed1": (1, False), "rep@random-seed0": (0, True),
                                 "rep@random-seed1": (1, True)}.items():
        cfg = configs[name]
        assert (cfg.replicate.of, cfg.replicate.seed, cfg.replicate.random, cfg.seed) == ("rep", seed, random, seed)
        assert cfg.sampler.name == ("random" if random else "tpe")
        assert cfg.budget == configs["rep"].budget and cfg.final == configs["rep"].final
        assert [b.label for b in cfg.baselines] == ([] if random else ["plain2"])
    for name in configs:
        t = load_trials(url, name)
        finals = t[(t["stage"] == "final") & (t["family"] == "searched")]
        assert len(t[t["stage"] == "search"]) == 2 and finals["test_acc"].notna().all() and len(finals) == 1

    # Each replicate is a normal study: running the command again resumes them, training nothing.
    before = {n: len(load_trials(url, n)) for n in configs}
    again = CliRunner().invoke(app, ["replicate", str(study), "--seeds", "0,1", "--db", url])
    assert again.exit_code == 0, again.output
    assert {n: len(load_trials(url, n)) for n in configs} == before

    md = write_report(url, "rep@random-seed1", tmp_path / "reports", ["md"])[0].read_text()
    section = md.split("## Does the search beat random search and a hand-written network?")[1].split("\n## ")[0]
    assert "| seed | search | random search | plain2 |" in section
    lines = section.splitlines()
    assert any(line.startswith("| 0 |") for line in lines) and any(line.startswith("| 1 |") for line in lines)
    assert "| mean |" in section and "spread" in section
    # One verdict sentence per competitor (its wording depends on the tiny networks' figures).
    assert re.search(r"random search at the same budget( beyond seed noise)?: over the 2 seeds both have", section)
    assert re.search(r"the baseline plain2( beyond seed noise)?: over the 2 seeds both have", section)
    assert "nasbench replicate" not in section  # the replicates exist


@pytest.mark.slow
def test_no_baselines_leaves_the_study_baselines_to_a_later_run(tmp_path, ray_local):
    # A replicate re-run under changed code, whose baselines were measured already (and train
    # deterministically), should not spend their hours again; the next run without it trains them.
    url = f"sqlite:///{tmp_path / 'results.db'}"
    study = two_trial_study(tmp_path, "nob")
    runner = CliRunner()
    args = ["replicate", str(study), "--seeds", "0,1", "--no-random", "--db", url]
    first = runner.invoke(app, [*args, "--no-baselines"])
    assert first.exit_code == 0, first.output
    assert "baselines not trained (--no-baselines)" in first.output
    before = {n: load_trials(url, n) for n in ("nob", "nob@seed1")}
    for t in before.values():
        assert (t["family"] == "baseline").sum() == 0
        assert len(t[(t["stage"] == "final") & (t["family"] == "searched")]) == 1

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    for name, t0 in before.items():
        t = load_trials(url, name)
        base = t[t["family"] == "baseline"]
        assert list(base["name"]) == ["plain2"] and base["test_acc"].between(0, 1).all()
        assert len(t) == len(t0) + 1  # the search and its final trained nothing again
