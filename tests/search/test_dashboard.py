"""Optuna's own tools see what nasbench sees: `nasbench dashboard` starts the real optuna-dashboard
on a results database written by a real search, and its HTTP API shows each trial's architecture
name, params, FLOPs and learning curve."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.search.helpers import quick_study, search

NASBENCH = [sys.executable, "-m", "nasbench.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_the_dashboard_shows_architecture_names_and_curves(tmp_path, sqlite_url, ray_local):
    pytest.importorskip("optuna_dashboard")
    study = quick_study(tmp_path, "dash", sampler="{name: random}", budget="{trials: 2}",
                        fidelity="{epochs: 3, train_fraction: 0.3}")
    _out, df = search(study, sqlite_url)
    searched = df[(df.stage == "search") & (df.state == "complete")]
    assert len(searched) == 2

    port = free_port()
    server = subprocess.Popen([*NASBENCH, "dashboard", "--db", sqlite_url, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        studies = get(f"http://127.0.0.1:{port}/api/studies")
        study_id = next(s["study_id"] for s in studies["study_summaries"] if s["study_name"] == "dash")
        detail = get(f"http://127.0.0.1:{port}/api/studies/{study_id}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    trials = {t["number"]: t for t in detail["trials"]}
    for row in searched.itertuples():
        trial = trials[int(row.number)]
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert attrs["architecture"] == row.name
        assert int(attrs["params"]) == row.params and int(attrs["flops"]) == row.flops
        curve = [(v["step"], v["value"]) for v in trial["intermediate_values"]]
        assert [step for step, _ in curve] == [1, 2, 3]
        assert curve[-1][1] == pytest.approx(row.val_acc)
        assert trial["state"] == "Complete" and trial["constraints"] == [0.0]
    assert detail["has_intermediate_values"]


def test_dashboard_on_a_missing_database_is_one_line_and_creates_nothing(tmp_path):
    missing = tmp_path / "nope.db"
    r = subprocess.run([*NASBENCH, "dashboard", "--db", f"sqlite:///{missing}"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: no results database at {missing}."
    assert not missing.exists()
