"""Overhead of the search platform: a search of short digits trials vs the same trainings in a loop.

Both sides train the same architectures (the search's, read back from its database, in trial
order) with the same trainer function (``nasbench.train.train_network``: the Lightning trainer
every trial uses), data module, recipe, fidelity and seed; the loop uses 2 torch threads. By
default the search runs one trial at a time with 2 CPUs (2 threads) per trial on this 2-CPU
machine, sequential like the loop; ``--cpu-per-trial 1`` runs the study's usual two 1-thread
trials at once instead (the driver's work per trial then overlaps the other trial's training).

* search: ``run_search`` from the call to its return (embedded Ray started and shut down,
  Optuna study in a fresh SQLite file, Tune, the worker, the store).
* bare loop: load the data set and split it, then for each architecture build the network and
  the data module and call ``train_network`` (the latency measurement a trial does is included,
  so both sides do the same work).
* fixed start-up and per-trial overhead come from two search sizes: with S(n) the search's wall
  time for n trials and B(n) the loop's, per-trial ratio = (S(N) - S(1)) / (B(N) - B(1)) and
  fixed start-up = S(1) - B(1) (Ray start and shutdown, Tune set-up, the first actor).

Runs alternate (search, loop, search, ...) so other work on the machine slows both alike;
medians of ``--repeats`` runs are reported.

Run:  python benchmarks/search_overhead.py [--trials 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console

from nasbench.data import load_dataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import make_split
from nasbench.measure.runtime import latency
from nasbench.nn.builder import build_network
from nasbench.search.config import load_study
from nasbench.search.runner import run_search
from nasbench.space.architecture import Architecture
from nasbench.store import load_trials
from nasbench.train.run import augment_from, train_network

ROOT = Path(__file__).resolve().parents[1]
STUDY = """\
name: overhead
space: {space}
data: {{name: digits, val_size: 0.2}}
sampler: {{name: random}}
budget: {{trials: {trials}}}
fidelity: {{epochs: 2}}
recipe: {{batch_size: 64}}
resources: {{cpu: {cpu}}}
seed: 0
"""


def timed_search(folder: Path, trials: int, cpu: int) -> tuple[float, list[Architecture]]:
    study = folder / f"overhead-{trials}.yaml"
    study.write_text(STUDY.format(space=ROOT / "search_spaces" / "tiny.yaml", trials=trials, cpu=cpu))
    db = folder / f"r-{trials}-{time.monotonic_ns()}.db"
    t0 = time.perf_counter()
    out = run_search(str(study), db_url=f"sqlite:///{db}", console=Console(file=open(os.devnull, "w")),
                     shutdown_ray=True)
    wall = time.perf_counter() - t0
    assert out.counts == {"complete": trials}, out.counts
    df = load_trials(f"sqlite:///{db}", "overhead").sort_values("number")
    return wall, [Architecture.from_json(a) for a in df["arch_json"]]


def timed_loop(study: Path, archs: list[Architecture], threads: int) -> float:
    """The same trainings, back to back, as a user would write them without the platform."""
    cfg = load_study(study).config
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    ds = load_dataset(cfg.data.name, **cfg.data.options)
    split = make_split(ds, cfg.data.val_size, cfg.data.test_size, cfg.data.split_seed)
    for arch in archs:
        torch.manual_seed(cfg.seed)
        model = build_network(arch, ds.in_channels, ds.num_classes, ds.ndim)
        dm = TensorDataModule(ds, split, batch_size=cfg.recipe.batch_size,
                              train_fraction=cfg.fidelity.train_fraction, resolution=arch.resolution,
                              augment=augment_from(cfg.recipe), seed=cfg.seed)
        latency(model, dm.input_shape, batch_sizes=(1,), device="cpu")
        train_network(model, dm, cfg.recipe, cfg.fidelity.epochs, seed=cfg.seed, device="cpu")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cpu-per-trial", type=int, default=2,
                    help="2: one trial at a time with 2 threads (like the loop); 1: two 1-thread trials at once")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nasbench-overhead-"))
    runs: dict[str, list[float]] = {"S1": [], "SN": [], "B1": [], "BN": []}
    for r in range(args.repeats):
        s1, archs1 = timed_search(folder, 1, args.cpu_per_trial)
        sn, archs = timed_search(folder, args.trials, args.cpu_per_trial)
        b1 = timed_loop(folder / "overhead-1.yaml", archs1, threads=2)
        bn = timed_loop(folder / f"overhead-{args.trials}.yaml", archs, threads=2)
        for k, v in zip(runs, (s1, sn, b1, bn)):
            runs[k].append(v)
        print(f"run {r + 1}: search 1 trial {s1:.1f}s, {args.trials} trials {sn:.1f}s | "
              f"loop 1 {b1:.1f}s, {args.trials} {bn:.1f}s | load {os.getloadavg()[0]:.1f}", flush=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    ratios = [(sn - s1) / (bn - b1) for s1, sn, b1, bn in zip(*runs.values())]
    fixed = [s1 - b1 for s1, _, b1, _ in zip(*runs.values())]
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
          f"{torch.__version__}; load average now {os.getloadavg()[0]:.1f}")
    print(f"{args.trials}-trial search  median {med['SN']:.1f}s   bare loop median {med['BN']:.1f}s   "
          f"whole-run ratio {med['SN'] / med['BN']:.2f}")
    print(f"per-trial ratio (marginal, median of runs) {statistics.median(ratios):.3f}   "
          f"fixed start-up (median) {statistics.median(fixed):.1f}s   "
          f"per-trial overhead {(med['SN'] - med['S1'] - med['BN'] + med['B1']) / (args.trials - 1):.2f}s")


if __name__ == "__main__":
    main()
