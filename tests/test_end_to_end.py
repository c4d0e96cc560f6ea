"""The walking skeleton end to end: a real 3-trial search on digits, then query and report from
fresh processes (real Ray, Optuna, Lightning, SQLite)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from nasbench.search.runner import run_search
from nasbench.store import open_ledger

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


ROOT = Path(__file__).resolve().parents[1]
NASBENCH = [sys.executable, "-m", "nasbench.cli"]


def test_search_then_query_and_report_in_new_processes(tmp_path, ray_local):
    db = tmp_path / "results.db"
    url = f"sqlite:///{db}"
    study = ROOT / "tests" / "fixtures" / "digits_study.yaml"
    console = Console(file=open(tmp_path / "progress.txt", "w"), width=200)

    out = run_search(str(study), open_ledger(url), console=console)
    console.file.close()

    assert out.counts == {"complete": 3}
    assert out.best_val_acc is not None and out.best_val_acc > 0.5
    progress = (tmp_path / "progress.txt").read_text()
    assert "[3/3]" in progress and "best val_acc" in progress and "elapsed" in progress

    # A fresh process sees 3 finished trials with metrics and per-epoch rows.
    check = subprocess.run([sys.executable, "-c", f"""
import sqlite3, json
con = sqlite3.connect({str(db)!r})
trials = con.execute(
    "select t.trial_id, t.state, t.val_acc, t.params, t.flops, t.epochs_run from nb_trials t"
).fetchall()
epochs = con.execute("select trial_id, epoch, train_loss, val_acc from nb_epochs order by trial_id, epoch").fetchall()
print(json.dumps({{"trials": trials, "epochs": epochs}}))
"""], capture_output=True, text=True, check=True)
    data = json.loads(check.stdout)
    assert len(data["trials"]) == 3
    for trial_id, state, val_acc, params, flops, epochs_run in data["trials"]:
        assert state == "complete" and 0.0 < val_acc <= 1.0 and params > 0 and flops > 0 and epochs_run == 2
        rows = [e for e in data["epochs"] if e[0] == trial_id]
        assert [e[1] for e in rows] == [1, 2] and all(e[2] is not None and e[3] is not None for e in rows)

    # nasbench query, from the database, in a new process.
    q = subprocess.run([*NASBENCH, "query", "--study", "digits-e2e", "--top", "5", "--format", "json", "--db", url],
                       capture_output=True, text=True, cwd=tmp_path)
    assert q.returncode == 0, q.stderr
    rows = json.loads(q.stdout)
    assert len(rows) == 3
    assert [r["val_acc"] for r in rows] == sorted((r["val_acc"] for r in rows), reverse=True)
    con = sqlite3.connect(db)
    stored = sorted(v for (v,) in con.execute("select val_acc from nb_trials"))
    assert sorted(r["val_acc"] for r in rows) == pytest.approx(stored, rel=1e-12)

    csv = subprocess.run([*NASBENCH, "query", "--study", "digits-e2e", "--format", "csv", "--db", url],
                         capture_output=True, text=True, cwd=tmp_path)
    assert csv.returncode == 0 and csv.stdout.splitlines()[0].startswith("study,stage,number")
    assert len(csv.stdout.strip().splitlines()) == 4

    # nasbench report writes a Markdown leaderboard naming every trial's architecture.
    r = subprocess.run([*NASBENCH, "report", "digits-e2e", "--out", str(tmp_path / "reports"), "--db", url],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "reports" / "digits-e2e.md").read_text()
    names = [n for (n,) in con.execute("select name from nb_trials")]
    for name in names:
        assert f"`{name}`" in md
    for header in ("rank", "params", "FLOPs", "val acc", "training cost"):
        assert header in md

    # Re-running the finished study trains nothing more.
    again = run_search(str(study), open_ledger(url), console=Console(file=open(tmp_path / "again.txt", "w")))
    assert again.counts == {"complete": 3}
