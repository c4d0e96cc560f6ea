"""Benchmark: does a training that has the machine to itself run faster on more torch threads?

A study's final stage often trains fewer networks than the machine has CPUs (one finalist when the
best network is also the best within the size bound; one baseline after it), and each trial is
given ``resources.cpu`` CPUs, one torch thread each. This times the same training, the study's
recipe at one epoch on a fraction of the training split, with 1 and with ``--threads`` threads,
alternating in one process so that other load on the machine slows both sides alike; medians of
the rounds and the median per-round ratio (wall time, validation included, as a trial does it).

    .venv/bin/python benchmarks/final_threads.py studies/fashion_mnist.yaml \\
        --arch "s24 > inv2x32k3e2se.25 > se2x48k3/2 > inv2x64k5e2/p > relu bn" --train-fraction 0.1 --rounds 3
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

from nasbench.search.config import load_study
from nasbench.space.notation import parse_architecture
from nasbench.train.evaluate import Candidate, ScratchEvaluator
from nasbench.train.recipe import Fidelity


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study")
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--threads", type=int, default=2, help="compared with 1")
    p.add_argument("--train-fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    cfg = load_study(args.study).config
    task = cfg.data.load()
    fidelity = Fidelity(epochs=args.epochs, train_fraction=args.train_fraction)
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    n = args.threads
    print(f"| network | seconds, 1 thread | seconds, {n} threads | 1 / {n} (per round) | val acc 1 / {n} |")
    print("|---|---:|---:|---|---|")
    for arch in args.arch:
        candidate = Candidate(arch=parse_architecture(arch))
        times: dict[int, list[float]] = {1: [], args.threads: []}
        accs: dict[int, float | None] = {}
        for r in range(args.rounds + 1):  # round 0 warms both sides up (imports, data to memory)
            for n in (1, args.threads) if r % 2 == 0 else (args.threads, 1):
                t0 = time.perf_counter()
                ev = ScratchEvaluator(task=task, recipe=cfg.recipe, threads=n).evaluate(candidate, fidelity, seed=0)  # type: ignore[arg-type]
                if r > 0:
                    times[n].append(time.perf_counter() - t0)
                accs[n] = ev.scores.val_acc
        one, many = times[1], times[args.threads]
        ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(one, many, strict=True))
        print(
            f"| `{arch}` | {statistics.median(one):.1f} | {statistics.median(many):.1f} | "
            f"**{statistics.median(a / b for a, b in zip(one, many, strict=True)):.2f}** ({ratios}) | "
            f"{accs[1]:.4f} / {accs[args.threads]:.4f} |",
            flush=True,
        )
    print(f"# load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
