"""One tiny real search session shared by the report tests: three studies in one SQLite file.

- MAIN: digits, TPE, 3 trials of 2 epochs, then the best re-trained for 1 epoch with test
  accuracy; its study file's name carries a <script> tag, so every report of it exercises escaping.
- RANDOM: digits, random sampler, 2 trials of 1 epoch (something to compare MAIN with).
- FAILED: MNIST-1D with an absurd learning rate: every trial diverges (a report with nothing
  to rank, and a study on another data set).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from nasbench.report.leaderboard import write_report
from nasbench.search.runner import run_search
from nasbench.store import open_ledger
from tests.conftest import ROOT

MAIN = "digits-main"
RANDOM = "digits-random"
FAILED = "mnist1d-diverges"
TINY = str(ROOT / "search_spaces" / "tiny.yaml")

STUDIES = {
    MAIN: {"data": {"name": "digits", "val_size": 0.2}, "sampler": {"name": "tpe"}, "budget": {"trials": 3},
           "fidelity": {"epochs": 2}, "recipe": {"batch_size": 64},
           "final": {"top_k": 1, "fidelity": {"epochs": 1}}},
    RANDOM: {"data": {"name": "digits", "val_size": 0.2}, "sampler": {"name": "random"}, "budget": {"trials": 2},
             "fidelity": {"epochs": 1}, "recipe": {"batch_size": 64}},
    FAILED: {"data": {"name": "mnist1d"}, "sampler": {"name": "random"}, "budget": {"trials": 2},
             "fidelity": {"epochs": 1, "train_fraction": 0.25},
             "recipe": {"batch_size": 128, "lr": 1e30, "warmup_epochs": 0}},
}


@dataclass(frozen=True)
class Studies:
    url: str
    db: Path
    folder: Path


@pytest.fixture(scope="session")
def studies(tmp_path_factory: pytest.TempPathFactory, ray_local) -> Studies:
    folder = tmp_path_factory.mktemp("report")
    db = folder / "results.db"
    console = Console(file=io.StringIO(), width=200)
    for i, (name, fields) in enumerate(STUDIES.items()):
        # The first study file's name carries markup (study names may not), so every report of it
        # exercises escaping of a user-given string.
        path = folder / (f"study{i}.yaml" if i else "main<script>&.yaml")
        # JSON is YAML: the <script> name needs no further quoting.
        path.write_text(json.dumps({"name": name, "space": TINY, "resources": {"cpu": 1}, "seed": 0, **fields}))
        run_search(str(path), open_ledger(f"sqlite:///{db}"), console=console)
    return Studies(f"sqlite:///{db}", db, folder)


@dataclass(frozen=True)
class MainReport:
    markdown: Path
    html: Path


@pytest.fixture(scope="session")
def main_report(studies: Studies) -> MainReport:
    md, html = write_report(studies.url, MAIN, studies.folder / "reports", ["md", "html"])
    return MainReport(md, html)
