"""The command line answers at once: importing it (what `nasbench --help` and every command pay
first) loads none of the heavy libraries; each command imports what it uses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.startup import make_database

HEAVY = ("torch", "lightning", "ray", "pandas", "optuna", "sqlalchemy", "numpy", "scipy")


def test_importing_the_cli_loads_no_heavy_library():
    code = f"import sys, nasbench.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout.strip()}"


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "nasbench.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("search", "status", "query", "report", "space", "zoo", "bench"):
        assert command in out.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A results database with one study, "bench", of 20 complete trials (val_acc 0.50 ... 0.69)."""
    return make_database(tmp_path_factory.mktemp("startup") / "results.db")


def run_in_process(args: list[str]) -> tuple[str, set[str]]:
    """Run the command line in a fresh interpreter: its output, and which heavy libraries it imported."""
    code = (
        "import sys\nfrom nasbench.cli import app\n"
        f"app({args!r}, standalone_mode=False)\n"
        f"print('LOADED', *(m for m in {(*HEAVY, 'alembic')!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "200"})
    *lines, loaded = out.stdout.splitlines()
    return "\n".join(lines), set(loaded.split()[1:])


def test_status_reads_without_pandas_or_alembic(results: str):
    out, loaded = run_in_process(["status", "bench", "--db", results])
    assert "best: trial 19 val_acc 0.6900" in out
    assert loaded.isdisjoint({"pandas", "alembic", "torch", "ray", "optuna"}), loaded


def test_query_prints_its_table_without_pandas_or_alembic(results: str):
    out, loaded = run_in_process(["query", "--study", "bench", "--top", "3", "--columns", "number,state,val_acc",
                                  "--db", results])
    assert [line.split() for line in out.splitlines()] == [
        ["number", "state", "val_acc"], ["19", "complete", "0.6900"], ["18", "complete", "0.6800"],
        ["17", "complete", "0.6700"]]
    assert loaded.isdisjoint({"pandas", "alembic", "torch", "ray", "optuna"}), loaded


def test_query_with_a_where_filter_or_to_csv_uses_pandas(results: str):
    out, loaded = run_in_process(["query", "--study", "bench", "--where", "val_acc < 0.52", "--format", "csv",
                                  "--columns", "number,val_acc", "--db", results])
    assert out.splitlines() == ["number,val_acc", "1,0.51", "0,0.5"]
    assert "pandas" in loaded
