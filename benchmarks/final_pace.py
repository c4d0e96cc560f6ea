"""Benchmark: does a training with a time allowance (``final.fidelity.time``) end within it, and
how much of it does it use?

For each network: the study's final recipe and data, a fidelity of ``--epochs`` epochs on
``--train-fraction`` of the training split (with the validation split when the study's final
protocol trains on it) and an allowance of ``--time`` seconds; the training measures its pace over
its first steps and trains the epochs that fit, then is tested, as a final re-training is. Printed:
the pace's prediction of one epoch against the epochs' measured median, the epochs trained, and the
wall time of the whole evaluation (data set-up and latency included) against the allowance.

    .venv/bin/python benchmarks/final_pace.py studies/fashion_mnist.yaml --time 90 --train-fraction 0.2 \\
        --arch "s24 > inv1x32k3e4se.25 > se2x32k3/2 > inv2x96k3e2se.25/p > silu bn drop0.2"
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import torch

from nasbench.data.module import TensorDataModule
from nasbench.search.config import load_study
from nasbench.space.notation import parse_architecture
from nasbench.train.evaluate import Candidate, ScratchEvaluator
from nasbench.train.pace import measure_pace
from nasbench.train.recipe import Fidelity
from nasbench.train.run import augment_from, memory_format_for
from nasbench.train.threads import torch_threads


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study")
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--time", type=float, default=90.0, help="the allowance, seconds")
    p.add_argument("--epochs", type=int, default=100, help="more than fit: the allowance decides")
    p.add_argument("--train-fraction", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    cfg = load_study(args.study).config
    task = cfg.data.load()
    refit = cfg.final is not None and cfg.final.fidelity.train_on_val
    fidelity = Fidelity(epochs=args.epochs, train_fraction=args.train_fraction, train_on_val=refit, time=args.time)
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}; allowance {args.time:g} s, {args.threads} thread(s), "
        f"train fraction {args.train_fraction:g}{', with the validation split' if refit else ''}"
    )
    print("| network | predicted s/epoch | measured s/epoch (median) | epochs | wall s | wall / allowance |")
    print("|---|---:|---:|---:|---:|---:|")
    for arch in args.arch:
        candidate = Candidate(arch=parse_architecture(arch))
        predicted = _predicted_epoch_s(candidate, task, cfg.recipe, fidelity, args.threads)
        evaluator = ScratchEvaluator(task=task, recipe=cfg.recipe, threads=args.threads)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        ev = evaluator.evaluate(candidate, fidelity, seed=0, test=True)
        wall = time.perf_counter() - t0
        measured = statistics.median(m.epoch_time_s for m in ev.history)
        print(
            f"| `{arch}` | {predicted:.1f} | {measured:.1f} | {ev.epochs} | {wall:.1f} | **{wall / args.time:.2f}** |",
            flush=True,
        )
    print(f"# load {os.getloadavg()[0]:.2f}")


def _predicted_epoch_s(candidate: Candidate, task, recipe, fidelity: Fidelity, threads: int) -> float:  # type: ignore[no-untyped-def]
    """The pace's estimate of one epoch, measured as the training measures it (its margin included)."""
    with torch_threads(threads):
        torch.manual_seed(0)
        model = candidate.build(task.shape)
        layout = memory_format_for(model)
        model = model.to(memory_format=layout)  # type: ignore[call-overload]
        dm = TensorDataModule(
            task.dataset,
            task.split,
            batch_size=recipe.batch_size,
            train_fraction=fidelity.train_fraction,
            augment=augment_from(recipe),
            train_on_val=fidelity.train_on_val,
        )
        dm.setup("fit")
        pace = measure_pace(model, dm, recipe, torch.device("cpu"), layout)
        return pace.epoch_s(len(dm.train_dataloader()), len(dm.tensors["val"][1]))


if __name__ == "__main__":
    main()
