"""Supernet ranking quality on the shipped MNIST-1D table, and the cost of scoring a candidate.

Rank: trains the supernet of the ``mnist1d_tiny`` space on the table's own data split and recipe
(``--epochs``, ``--sandwich``), scores every architecture of the table by its shared weights
(BatchNorm recalibrated on ``--calibration`` training batches), and reports Kendall tau and the
top-10 hit rate of those scores against the table's stand-alone validation accuracies (longest
budget), beside the table's zero-cost proxies on the same table (``bench proxies``).

Speed (``--speed SPACE:DATA``): candidates scored per CPU-hour on a space and data set (an
untrained supernet: scoring costs the same whatever the weights), one torch thread, process CPU
time and wall time.

Run:  python benchmarks/supernet_rank.py --epochs 30 [--sandwich] [--few-shot] [--calibration 10]
      python benchmarks/supernet_rank.py --speed search_spaces/fashion.yaml:fashion_mnist --candidates 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

from nasbench.data.spec import DataSpec
from nasbench.nn.supernet import Supernet
from nasbench.space.spec import load_space
from nasbench.tabular.correlation import kendall_tau, top_k_hit_rate
from nasbench.tabular.table import load_benchmark
from nasbench.train.evaluate import Candidate
from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.supernet import PathSampler, SupernetEvaluator, SupernetSettings, train_supernet


def rank(epochs: int, sandwich: bool, calibration: int, seed: int, few_shot: bool = False) -> dict:
    bench = load_benchmark("mnist1d_tiny")
    task = DataSpec.model_validate(bench.info["data"]).load()
    recipe = Recipe.model_validate(bench.info["recipe"])
    t0 = time.perf_counter()
    run = train_supernet(
        bench.space,
        task,
        recipe,
        SupernetSettings(epochs, sandwich, calibration, few_shot=few_shot),
        seed=seed,
        device="cpu",
    )
    train_s = time.perf_counter() - t0
    evaluator = SupernetEvaluator(task, run.weights, calibration_batches=calibration, batch_size=recipe.batch_size)
    c0, t0 = time.process_time(), time.perf_counter()
    scores = [evaluator.evaluate(Candidate(arch=a), Fidelity(), seed).val_acc for a in bench.archs]
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - t0
    truth = bench.val_acc[:, -1]
    return {
        "epochs": epochs,
        "sandwich": sandwich,
        "few_shot": few_shot,
        "calibration_batches": calibration,
        "seed": seed,
        "kendall_tau": round(kendall_tau(scores, truth), 3),
        "top10_hit": round(top_k_hit_rate(scores, truth, 10), 2),
        "supernet_train_s": round(train_s, 1),
        "archs": len(bench.archs),
        "score_wall_s": round(wall_s, 1),
        "candidates_per_cpu_hour": round(len(scores) / cpu_s * 3600),
        "last_epoch": run.history[-1].to_dict() if run.history else None,
    }


def speed(space_path: str, data: str, candidates: int, calibration: int, val_samples: int | None) -> dict:
    space = load_space(space_path)
    task = DataSpec(name=data).load()
    shape = task.shape
    supernet = Supernet(space, shape.in_channels, shape.num_classes, shape.ndim)
    evaluator = SupernetEvaluator(
        task, supernet.state_weights(), calibration_batches=calibration, val_samples=val_samples
    )
    paths = PathSampler(space, shape, seed=0)
    archs = [paths.uniform() for _ in range(candidates + 1)]
    evaluator.evaluate(Candidate(arch=archs[0]), Fidelity(), 0)  # data loaded once per worker: not timed
    walls, c0 = [], time.process_time()
    for a in archs[1:]:
        t0 = time.perf_counter()
        evaluator.evaluate(Candidate(arch=a), Fidelity(), 0)
        walls.append(time.perf_counter() - t0)
    cpu_s = time.process_time() - c0
    return {
        "space": space.name,
        "data": data,
        "val_samples": len(task.split.val),
        "calibration_batches": calibration,
        "scored_on": val_samples or len(task.split.val),
        "candidates": candidates,
        "median_wall_s": round(statistics.median(walls), 3),
        "candidates_per_cpu_hour": round(candidates / cpu_s * 3600),
        "candidates_per_wall_hour": round(candidates / sum(walls) * 3600),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--sandwich", action="store_true")
    ap.add_argument("--few-shot", action="store_true", help="one sub-supernet per first-stage block type")
    ap.add_argument("--calibration", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed", help="SPACE_YAML:DATA_NAME: measure scoring speed instead")
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--val-samples", type=int, default=None, help="score on the first n validation samples")
    args = ap.parse_args()
    torch.set_num_threads(1)
    np.random.seed(args.seed)
    if args.speed:
        space_path, data = args.speed.rsplit(":", 1)
        out = speed(space_path, data, args.candidates, args.calibration, args.val_samples)
    else:
        out = rank(args.epochs, args.sandwich, args.calibration, args.seed, args.few_shot)
    out["load_avg"] = os.getloadavg()[0]
    out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
