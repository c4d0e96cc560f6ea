"""Optuna sees what the user sees: the study a real search writes holds the widths, kernels and
block names of each architecture, and a study whose parameters were stored the old way (choice
indices) is refused rather than read as other architectures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from nasbench.errors import ConfigError
from nasbench.store import load_trials
from tests.search.helpers import optuna_study, quick_study, search

pytestmark = pytest.mark.slow  # a real search


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory, ray_local) -> tuple[Path, Path]:
    """A 3-trial random search of the tiny space on digits: (study file, results database)."""
    folder = tmp_path_factory.mktemp("optuna-params")
    study = quick_study(folder, "real-values", sampler="{name: random, seed: 3}", budget="{trials: 3}")
    search(study, f"sqlite:///{folder / 'results.db'}")
    return study, folder / "results.db"


def test_the_optuna_study_holds_real_widths_kernels_and_block_names(searched: tuple[Path, Path]) -> None:
    # tiny.yaml: 2 or 3 stages of plain or residual blocks, depth 1-2, kernel 3 or 5, stage
    # widths [16, 24], [32, 48], [64, 96]
    _study, db = searched
    url = f"sqlite:///{db}"
    trials = optuna_study(url, "real-values").trials
    rows = load_trials(url, "real-values", with_arch=True)
    rows = rows[(rows.stage == "search") & (rows.state == "complete")]
    assert len(rows) == 3
    for row in rows.itertuples():
        t, arch = trials[int(row.number)], row.arch
        assert t.params["num_stages"] == len(arch.stages)
        assert t.distributions["num_stages"] == IntDistribution(2, 3)
        for i, stage in enumerate(arch.stages):
            assert t.params[f"s{i}.block"] == stage.block
            assert t.params[f"s{i}.width"] == stage.width and type(t.params[f"s{i}.width"]) is int
            assert t.params[f"s{i}.kernel"] == stage.kernel
            assert t.params[f"s{i}.depth"] == stage.depth
            assert t.distributions[f"s{i}.block"] == CategoricalDistribution(["plain", "residual"])
            assert t.distributions[f"s{i}.kernel"] == IntDistribution(3, 5, step=2)
        widths = {"s0.width": (16, 24), "s1.width": (32, 48), "s2.width": (64, 96)}
        for name, (low, high) in widths.items():
            if name in t.params:
                assert t.distributions[name] == IntDistribution(low, high, step=high - low)


def test_a_study_with_index_encoded_parameters_is_refused(searched: tuple[Path, Path], tmp_path: Path) -> None:
    study, db = searched
    copy = tmp_path / "results.db"
    with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
        source.backup(target)  # the results database is in WAL mode: a file copy may miss the latest writes
    url = f"sqlite:///{copy}"
    # What nasbench before this version stored for a 2-stage network: every numeric choice an index.
    old = {"num_stages": 0, "s0.block": "plain", "s0.depth": 0, "s0.width": 1, "s0.kernel": 1,
           "s1.block": "plain", "s1.depth": 1, "s1.width": 0, "s1.kernel": 0}
    distributions = {n: CategoricalDistribution(["plain", "residual"]) if n.endswith("block") else IntDistribution(0, 1)
                     for n in old}
    optuna_study(url, "real-values").add_trial(optuna.trial.create_trial(params=old, distributions=distributions,
                                                                         value=0.5))
    before = len(load_trials(url, "real-values"))
    with pytest.raises(ConfigError) as refused:
        search(study, url)
    assert str(refused.value) == (
        f"{study}: study 'real-values' holds Optuna trials whose parameter 'num_stages' is stored as "
        f"{IntDistribution(0, 1)} where this version of nasbench samples {IntDistribution(2, 3)} (older "
        "versions stored numeric choices as indices), so resuming would mistake its architectures; give the "
        "study a new name."
    )
    assert len(load_trials(url, "real-values")) == before
