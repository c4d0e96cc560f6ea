"""Benchmark: how soon an evolution niche fills when the random start-up holds nothing within it.

The MNIST-1D study's sampler settings (population 12, tournaments of 3, a third of the children bred
from a niche of networks with at most 10,000 parameters) on its real space, with its real parameter
and FLOP counts (counted on the meta device, as the search does before training) and constraints
(candidates over them are refused, as the search refuses them). Nothing is trained: the score stands
in for the pressure Hyperband puts on a real search, which stops small networks first, by growing
with the logarithm of the parameter count. So the tournaments breed away from the niche, and only
the niche's own children can reach it.

Per seed: the smallest network of the random start-up, the trial at which the niche got its first
member, and how many trials fell within the bound.

    .venv/bin/python benchmarks/niche_fill.py --seeds 20 --trials 50
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics

import optuna
from optuna.trial import TrialState

from nasbench.measure.preview import figures, input_size
from nasbench.search.evolution import RegularizedEvolutionSampler
from nasbench.space.sample import infeasibility, sample_architecture
from nasbench.space.spec import load_space

SHAPE = (1, 40)  # MNIST-1D: one channel, 40 samples
LIMITS = {"params": 300_000, "flops": 8_000_000}  # studies/mnist1d.yaml's constraints
POPULATION, SAMPLE, BOUND, SHARE = 12, 3, 10_000, 0.33  # studies/mnist1d.yaml's sampler options


def run(space: str, seed: int, n: int) -> tuple[int, int | None, int]:
    """(smallest start-up network's params, trial number of the niche's first member, trials within)."""
    spec = load_space(space)
    sampler = RegularizedEvolutionSampler(
        population_size=POPULATION, sample_size=SAMPLE, seed=seed, niche={"params": BOUND}, niche_share=SHARE
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    members: list[tuple[int, int]] = []  # (trial number, params) of the trials told a value
    while len(study.trials) < n:
        trial = study.ask()
        arch = sample_architecture(trial, spec)
        if infeasibility(arch, input_size(arch, SHAPE)) is not None:
            study.tell(trial, state=TrialState.FAIL)
            continue
        params, flops = figures(arch, SHAPE)
        if params > LIMITS["params"] or flops > LIMITS["flops"]:
            study.tell(trial, state=TrialState.FAIL)
            continue
        trial.set_user_attr("params", params)
        study.tell(trial, math.log10(params))
        members.append((trial.number, params))
    startup = min(p for _, p in members[:POPULATION])  # the random trials that filled the population
    first = next((number for number, p in members if p <= BOUND), None)
    return startup, first, sum(p <= BOUND for _, p in members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="search_spaces/mnist1d.yaml")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    rows = [(seed, *run(args.space, seed, args.trials)) for seed in range(args.seeds)]
    print("seed  smallest at start-up  niche's first member (trial)  trials within the bound")
    for seed, startup, first, within in rows:
        print(f"{seed:4d}  {startup:20,d}  {'never' if first is None else first:>29}  {within:23d}")
    empty = [r for r in rows if r[1] > BOUND]
    reached = [r[2] for r in empty if r[2] is not None]
    print(
        f"start-up without a network within {BOUND:,} parameters: {len(empty)} of {len(rows)} seeds; "
        f"the niche filled in {len(reached)} of them within {args.trials} trials"
        + (f" (median trial {statistics.median(reached):.0f})" if reached else "")
    )
    print(f"trials within the bound, mean over all seeds: {statistics.fmean(r[3] for r in rows):.1f}")


if __name__ == "__main__":
    main()
