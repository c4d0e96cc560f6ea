"""Does the final training's recipe leave accuracy on the table? A probe by validation only.

A study re-trains its chosen networks and its hand-written baselines under its final protocol
(MNIST-1D: 60 epochs of its recipe; Fashion-MNIST: up to 24, as many as fit in 35 min). This
trains given architectures under that protocol and under variants of it (more epochs, random
shifts, label smoothing), several seeds each, and prints the **validation** accuracy (the study's
carved validation split) of each: test accuracy is never computed, so nothing here can be chosen
on test. The final's ``train_on_val`` and ``time`` are switched off: the probe trains on the
training split alone, all the epochs its variant names.

Run:  python benchmarks/final_recipe_probe.py studies/mnist1d.yaml \
          --arch "s32k5 > conv1x64k5 > conv1x128k5/2 > conv1x128k3/2 > relu bn" --seeds 0,1 \
          --variant base --variant "epochs=120" --variant "crop_padding=2" --variant "label_smoothing=0.1"
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from nasbench.search.config import load_study
from nasbench.space.notation import parse_architecture
from nasbench.train.evaluate import Candidate, ScratchEvaluator
from nasbench.train.recipe import Fidelity

RECIPE_FIELDS = ("crop_padding", "label_smoothing", "mixup_alpha", "weight_decay", "lr", "flip")


@dataclass(frozen=True)
class Run:
    study: str
    arch: str
    variant: str
    seed: int


def apply(variant: str, recipe: object, fidelity: Fidelity) -> tuple[object, Fidelity]:
    """``base`` or ``key=value[,key=value]``: ``epochs`` changes the fidelity, the rest the recipe."""
    if variant == "base":
        return recipe, fidelity
    recipe_update: dict[str, object] = {}
    for part in variant.split(","):
        key, value = part.split("=")
        if key == "epochs":
            fidelity = fidelity.model_copy(update={"epochs": int(value)})
        elif key in RECIPE_FIELDS:
            recipe_update[key] = value  # validated (and converted) by the Recipe model below
        else:
            raise SystemExit(f"--variant {variant!r}: unknown key {key!r}")
    return type(recipe).model_validate({**recipe.model_dump(), **recipe_update}), fidelity  # type: ignore[attr-defined]


def train(run: Run) -> tuple[Run, float | None, float]:
    cfg = load_study(run.study).config
    assert cfg.final is not None
    # The probe reads validation accuracy, so the final's refit on the validation images is off;
    # and every epoch of the variant is trained, so that the machine's load on the day does not
    # decide how many (a study's ``final.fidelity.time`` would).
    final = cfg.final.fidelity.model_copy(update={"train_on_val": False, "time": None})
    recipe, fidelity = apply(run.variant, cfg.recipe, final)
    task = cfg.data.load()
    evaluator = ScratchEvaluator(task=task, recipe=recipe, threads=1)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    ev = evaluator.evaluate(Candidate(arch=parse_architecture(run.arch)), fidelity, run.seed)
    return run, ev.scores.val_acc, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study")
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--variant", action="append", default=None)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    variants = args.variant or ["base"]
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = [Run(args.study, a, v, s) for a in args.arch for v in variants for s in seeds]
    print(f"# {platform.node()} {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {len(runs)} trainings")
    results: dict[tuple[str, str], list[float]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for run, val, secs in pool.map(train, runs):
            print(f"{run.arch} | {run.variant} | seed {run.seed}: val {val:.4f} ({secs:.0f} s)", flush=True)
            results.setdefault((run.arch, run.variant), []).append(val or 0.0)
    print(f"# load {os.getloadavg()[0]:.1f}")
    print("| architecture | variant | validation accuracy per seed | mean |")
    print("|---|---|---|---:|")
    for (arch, variant), vals in results.items():
        per_seed = " / ".join(f"{v:.1%}" for v in vals)
        print(f"| `{arch}` | {variant} | {per_seed} | {statistics.mean(vals):.2%} |")


if __name__ == "__main__":
    main()
