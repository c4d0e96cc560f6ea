"""The command line answers at once: importing it (what `nasbench --help` and every command pay
first) loads none of the heavy libraries; each command imports what it uses."""

from __future__ import annotations

import subprocess
import sys

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
