"""Start-up time of the command line, against ``python -c pass`` (issue 16: answer in under 1 s).

    python benchmarks/startup.py [--repeats 7]

Each command runs in a fresh process, ``--repeats`` times; the median and the fastest wall time
are printed. ``status`` and ``query`` read a small results database made for the run (one study,
20 trials, written through the store's own API; nothing is trained).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nasbench.space.architecture import Architecture, Stage
from nasbench.store import open_engine, records, session_scope
from nasbench.store.models import StudyRow

NASBENCH = [sys.executable, "-m", "nasbench.cli"]


def make_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    arch = Architecture(stages=(Stage("residual", 1, 16), Stage("plain", 2, 32, downsample="stride")))
    with session_scope(open_engine(url)) as s:
        study = StudyRow(
            name="bench",
            config_json={"budget": {"trials": 20}},
            space_json={},
            dataset_json={"name": "digits"},
            split_json={},
        )
        s.add(study)
        s.flush()
        for n in range(20):
            t = records.start_trial(s, study, n, arch.summary(), {"epochs": 1}, seed=0, arch=arch, params=10, flops=20)
            records.finish_trial(s, t, "complete", val_acc=0.5 + n / 100)
    return url


def timed(args: list[str], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env={**os.environ, "COLUMNS": "200"})
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as tmp:
        url = make_database(Path(tmp) / "r.db")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "nasbench --help": [*NASBENCH, "--help"],
            "nasbench doctor --help": [*NASBENCH, "doctor", "--help"],
            "nasbench status bench": [*NASBENCH, "status", "bench", "--db", url],
            "nasbench query --study bench --top 5": [*NASBENCH, "query", "--study", "bench", "--top", "5", "--db", url],
        }
        print(f"load average {os.getloadavg()[0]:.2f}; {repeats} runs each")
        print("| command | median | fastest |\n|---|---:|---:|")
        for name, args in commands.items():
            median, fastest = timed(args, repeats)
            print(f"| `{name}` | {median:.2f} s | {fastest:.2f} s |")


if __name__ == "__main__":
    main()
