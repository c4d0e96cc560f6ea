"""Benchmark: sample, check, build and measure (params, FLOPs) architectures of a space.

Times every architecture from the Optuna sample to its FLOP count, as ``nasbench space sample``
and a search's feasibility step do, until ``--n`` feasible architectures are measured.
Infeasible samples (rejected before building) are counted and timed apart.

    .venv/bin/python benchmarks/space_sampling.py --space search_spaces/full.yaml --n 1000 --input 1x28x28
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import optuna
import torch

from nasbench.measure.preview import figures, input_size, iter_architectures, parse_input
from nasbench.space.sample import infeasibility
from nasbench.space.spec import load_space

WARMUP = 3  # first calls import torch's meta kernels and decompositions (seconds)


def run(space: str, n: int, shape: tuple[int, ...], seed: int) -> dict[str, float]:
    spec = load_space(space)
    samples = iter_architectures(spec, seed)
    for arch in (next(samples) for _ in range(WARMUP)):
        if infeasibility(arch, input_size(arch, shape)) is None:
            figures(arch, shape)
    measured: list[float] = []
    rejected: list[float] = []
    params: list[int] = []
    start = time.perf_counter()
    while len(measured) < n:
        t0 = time.perf_counter()
        arch = next(samples)
        if infeasibility(arch, input_size(arch, shape)) is not None:
            rejected.append(time.perf_counter() - t0)
            continue
        params.append(figures(arch, shape)[0])
        measured.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    ms = sorted(t * 1000 for t in measured)
    return {
        "measured": len(ms), "median_ms": statistics.median(ms), "p10_ms": ms[len(ms) // 10],
        "p90_ms": ms[len(ms) * 9 // 10], "max_ms": ms[-1], "mean_ms": statistics.fmean(ms),
        "infeasible": len(rejected), "infeasible_median_ms": statistics.median(rejected) * 1000 if rejected else 0.0,
        "wall_s": wall, "median_params": statistics.median(params),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="search_spaces/full.yaml")
    parser.add_argument("--n", type=int, default=1000, help="feasible architectures to measure")
    parser.add_argument("--input", default="1x28x28", help="one sample's shape, channels first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the CPUs are shared)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(args.threads)
    result = run(args.space, args.n, parse_input(args.input), args.seed)
    print(f"{datetime.date.today()}  {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
          f"(load {os.getloadavg()[0]:.1f}), torch {torch.__version__}, {args.threads} thread(s)")
    print(f"space {args.space}, input {args.input}, seed {args.seed}")
    for key, value in result.items():
        print(f"  {key:22s} {value:,.2f}" if isinstance(value, float) else f"  {key:22s} {value:,}")


if __name__ == "__main__":
    main()
