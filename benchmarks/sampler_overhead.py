"""Sampler overhead at 1000 finished trials: one ask + define-by-run sampling + tell, in ms.

A study of the shipped ``tiny`` space gets 1000 finished trials (random architectures scored
by a cheap deterministic function, about 5% of them infeasible as the searcher records them),
in memory and in a SQLite file (Optuna's RDB storage, as ``nasbench search`` uses it). Then each
sampler, created by name exactly as a study file creates it, runs ``--steps`` more trials on
that history; the time of each ask + ``sample_architecture`` + tell is recorded. Medians (and
the 90th percentile) are reported; the target is under 50 ms. ``random`` is timed too: its own
work is nil, so its row is what the storage and the define-by-run sampling cost by themselves.

Run:  python benchmarks/sampler_overhead.py [--trials 1000] [--steps 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from nasbench.search.samplers import CONSTRAINT_KEY, create_sampler
from nasbench.space.architecture import Architecture
from nasbench.space.sample import sample_architecture
from nasbench.space.spec import load_space

ROOT = Path(__file__).resolve().parents[1]
SPACE = load_space(ROOT / "search_spaces" / "tiny.yaml")


def score(arch: Architecture) -> float:
    return sum(s.width * s.depth for s in arch.stages) / 1000 + 0.01 * arch.stages[0].kernel


def step(study: optuna.Study, number: int) -> None:
    trial = study.ask()
    arch = sample_architecture(trial, SPACE)
    infeasible = number % 20 == 0  # as the searcher tells a rejected sample
    trial.set_constraint(CONSTRAINT_KEY, 1.0 if infeasible else 0.0)
    study.tell(trial, 0.0 if infeasible else score(arch))


def history(n: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(n):
        step(study, i)
    return study


def timed_steps(name: str, storage: str | None, source: optuna.Study, steps: int, study_name: str) -> list[float]:
    sampler = create_sampler(name, 0, {}, SPACE)
    study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize", sampler=sampler)
    study.add_trials(source.trials)
    done = len(source.trials)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        step(study, done + i + 1)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    source = history(args.trials)
    folder = Path(tempfile.mkdtemp(prefix="nasbench-sampler-"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, optuna {optuna.__version__}; "
          f"{args.trials} finished trials, {args.steps} timed steps each")
    print(f"{'sampler':<10} {'storage':<8} {'median ms':>10} {'p90 ms':>8}")
    for name in ("evolution", "tpe", "random"):  # random: the floor the storage alone sets
        for storage in ("memory", "sqlite"):
            url = None if storage == "memory" else f"sqlite:///{folder / f'{name}.db'}"
            times = timed_steps(name, url, source, args.steps, f"{name}-{storage}")
            p90 = statistics.quantiles(times, n=10)[-1]
            print(f"{name:<10} {storage:<8} {statistics.median(times):>10.1f} {p90:>8.1f}", flush=True)
    print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
