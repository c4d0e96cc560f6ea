"""Helpers shared by the store tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("NASBENCH_TEST_POSTGRES_URL")
needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="NASBENCH_TEST_POSTGRES_URL is not set (scripts/start_postgres.sh "
                                          "starts a local server and prints the URL)"),
]


def run_together(code: str, n: int, **values: object) -> list[subprocess.CompletedProcess[str]]:
    """Run ``code`` in ``n`` new Python processes that start its body at the same instant.

    The processes import first, then wait for a shared moment, so the race is between the
    statements under test and not between interpreter start-ups. ``values`` are bound as globals;
    ``INDEX`` is the process's number.
    """
    body = textwrap.dedent(code)
    script = ("import sys, time\nINDEX = int(sys.argv[1])\nSTART = float(sys.argv[2])\n"
              + "".join(f"{k} = {v!r}\n" for k, v in values.items())
              + "from nasbench.store import lease, migrate, open_engine\n"
              + "time.sleep(max(0.0, START - time.time()))\n" + body)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.time() + 3.0  # imports take about a second on a busy 2-core machine
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i), str(start)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results
