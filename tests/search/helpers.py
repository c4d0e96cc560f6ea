"""Helpers shared by the search tests: small digits studies run through the real runner."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pandas as pd
from rich.console import Console

from nasbench.search.runner import SearchOutcome, run_search
from nasbench.store import load_trials, open_ledger
from tests.conftest import ROOT, write_study

# One epoch on 30% of digits' training split: a trial trains in about a second.
QUICK = {"fidelity": "{epochs: 1, train_fraction: 0.3}", "recipe": "{batch_size: 64}"}

# A space whose every choice is numeric (CMA-ES needs one): plain blocks only.
NUMERIC_SPACE = """\
name: numeric
ndim: [2]
num_stages: [2, 3]
stem: {width: [8, 16]}
stage: {block: [plain], depth: [1, 2], kernel: [3, 5], downsample: [stride]}
stages:
  - {width: [8, 16], downsample: [none]}
  - {width: [16, 32]}
  - {width: [32, 64]}
"""


def quick_study(folder: Path, name: str = "s", **overrides: str) -> Path:
    return write_study(folder, name, **{**QUICK, **overrides})


def numeric_space(folder: Path) -> str:
    path = folder / "numeric.yaml"
    path.write_text(NUMERIC_SPACE)
    return str(path)


def search(study: Path, url: str, log: Path | None = None) -> tuple[SearchOutcome, pd.DataFrame]:
    """Run the study quietly (progress lines go to ``log``); returns the outcome and its trials."""
    log = log or study.with_suffix(".log")
    with open(log, "a") as f:
        out = run_search(str(study), open_ledger(url), console=Console(file=f, width=200))
    return out, load_trials(url, out.study)


def session_processes(sid: int) -> list[int]:
    """Pids of the live processes in session ``sid`` (a process started with its own session and
    everything it started, which keeps the session even when it changes process group)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            pids.append(int(stat.parent.name))
    return pids


def end_session(proc: subprocess.Popen, grace: float = 20) -> list[int]:
    """Stop ``proc`` (started with ``start_new_session``) and everything in its session, by pid.

    SIGTERM to its process group first (Ray's ``ray start --block`` shuts its node down on it),
    then SIGKILL to whatever of the session is left; returns the pids that needed SIGKILL.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.3)
    left = session_processes(proc.pid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    return left


def optuna_study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


__all__ = ["ROOT", "end_session", "numeric_space", "optuna_study", "quick_study", "search", "session_processes"]
