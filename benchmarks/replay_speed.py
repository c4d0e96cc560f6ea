"""Replay speed (samplers x seeds x queries on the shipped MNIST-1D benchmark) and proxy cost.

Replay: every sampler replays the shipped benchmark ``--seeds`` times with a budget of
``--trials`` trials (repeats charged, as ``bench replay`` does by default), one torch thread.
Wall time is reported per sampler (sum over its seeds, and the median seed). The GP sampler is
the replay's (``nasbench.tabular.replay_gp``: exact grid acquisition, refits every 20 trials);
``--gp-options '{"refit_every": 1, "grid": false}'`` times Optuna's GPSampler as a live search
runs it, which is far slower, so ``--gp-seeds`` can time fewer of its seeds; its 20-seed figure
is then that median times 20, marked extrapolated.

``--scheduler`` and ``--sim-workers`` time the asynchronous, multi-fidelity replay instead (e.g.
``--scheduler asha --sim-workers 4``: ASHA on the stored curves, 4 simulated workers); Ray's
scheduler module is imported before the timing starts.

Proxies: every zero-cost proxy (and the params/FLOPs baselines) for each of the benchmark's
architectures on one batch of 64 MNIST-1D training signals, one thread; seconds per architecture
(median and max), and the proxies' Kendall tau / Spearman rho against validation accuracy.

Run:  python benchmarks/replay_speed.py [--seeds 20] [--trials 200] [--gp-seeds 20] [--scheduler asha --sim-workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from nasbench.tabular.proxy_eval import benchmark_target, score_proxies
from nasbench.tabular.replay import Budget, replay
from nasbench.tabular.schedulers import Simulation
from nasbench.tabular.table import load_benchmark

SAMPLERS = ("random", "tpe", "evolution", "nsga2", "gp")


def time_sampler(
    name: str, seeds: int, trials: int, options: dict | None = None, simulation: Simulation | None = None
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (this process) of each seed's replay."""
    bench = load_benchmark("mnist1d_tiny")
    walls, cpus = [], []
    for seed in range(seeds):
        t0, c0 = time.perf_counter(), time.process_time()
        run = replay(bench, name, seed, Budget(trials=trials), options, simulation=simulation)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        assert len(run.entry) == trials
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--gp-seeds", type=int, default=20)
    parser.add_argument("--gp-options", type=json.loads, default=None, help="options of the replay's gp (JSON)")
    parser.add_argument("--skip-proxies", action="store_true")
    parser.add_argument("--scheduler", default="none", help="none, asha, hyperband or median")
    parser.add_argument("--sim-workers", type=int, default=1, help="simulated workers")
    args = parser.parse_args()
    sim = Simulation(args.scheduler, args.sim_workers)
    if sim.scheduler != "none":
        import ray.tune.schedulers  # noqa: F401  (once, outside the timed replays)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared), "
          f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}; replay: {sim.describe()}")
    total = total_cpu = 0.0
    for name in SAMPLERS:
        seeds = args.gp_seeds if name == "gp" else args.seeds
        walls, cpus = time_sampler(name, seeds, args.trials, args.gp_options if name == "gp" else None, sim)
        scale = args.seeds / seeds  # 1 unless extrapolated
        full, cpu = sum(walls) * scale, sum(cpus) * scale
        total, total_cpu = total + full, total_cpu + cpu
        note = "" if seeds == args.seeds else f" (extrapolated from {seeds} seeds)"
        print(f"replay {name:9s}: {args.seeds} seeds x {args.trials} trials = {full:7.1f} s wall, {cpu:6.1f} s CPU"
              f"{note}; median seed {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU")
    print(f"replay total: {total:.1f} s wall, {total_cpu:.1f} s CPU for {len(SAMPLERS)} samplers x {args.seeds} "
          f"seeds x {args.trials} trials (load average now {os.getloadavg()[0]:.1f})")
    if args.skip_proxies:
        return
    result = score_proxies(benchmark_target("mnist1d_tiny"), batch_size=64, threads=1)
    seconds = result.scores["seconds"]
    print(f"proxies: {len(seconds)} architectures, median {seconds.median():.3f} s, max {seconds.max():.3f} s "
          f"per architecture (all {len(result.correlations) - 1} proxies and the ensemble)")
    print(result.correlations.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
