"""Benchmark: how soon an evolution niche fills when the random start-up holds nothing within it.

A study's own sampler (its evolution options and niche), space and constraints, with each
candidate checked and measured as the search does before training (``check_candidate``: real
parameter and FLOP counts on the meta device; infeasible or over-constraint candidates refused).
Nothing is trained: the score stands in for the pressure Hyperband puts on a real search, which
stops small networks first, by growing with the logarithm of the parameter count. So the
tournaments breed away from the niche, and only the niche's own children can reach it.

Per seed: the smallest network of the random start-up, the trial at which the niche got its first
member, and how many trials fell within the bound.

    .venv/bin/python benchmarks/niche_fill.py studies/mnist1d.yaml --seeds 20 --trials 50
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

from nasbench.data.spec import DataShape
from nasbench.search.config import LoadedStudy, load_study
from nasbench.search.samplers import create_sampler
from nasbench.search.searcher import check_candidate
from nasbench.space.sample import sample_architecture


def run(loaded: LoadedStudy, shape: DataShape, seed: int, n: int) -> tuple[int, int | None, int]:
    """(smallest start-up network's params, trial number of the niche's first member, trials within)."""
    cfg = loaded.config
    options = cfg.sampler.options
    bound = options["niche"]["params"]
    sampler = create_sampler(cfg.sampler.name, seed, options, loaded.space)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    members: list[tuple[int, int]] = []  # (trial number, params) of the trials told a value
    while len(study.trials) < n:
        trial = study.ask()
        arch = sample_architecture(trial, loaded.space)
        measures, refused = check_candidate(arch, shape, None, cfg.constraints)
        if refused is not None:
            study.tell(trial, state=TrialState.FAIL)
            continue
        params = int(measures["params"])
        trial.set_user_attr("params", params)
        study.tell(trial, math.log10(params))
        members.append((trial.number, params))
    startup = min(p for _, p in members[: options["population_size"]])  # the random trials that filled it
    first = next((number for number, p in members if p <= bound), None)
    return startup, first, sum(p <= bound for _, p in members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="a study file whose sampler has a niche on params")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loaded = load_study(args.study)
    shape = loaded.config.data.load().shape
    bound = loaded.config.sampler.options["niche"]["params"]
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    rows = [(seed, *run(loaded, shape, seed, args.trials)) for seed in range(args.seeds)]
    print("seed  smallest at start-up  niche's first member (trial)  trials within the bound")
    for seed, startup, first, within in rows:
        print(f"{seed:4d}  {startup:20,d}  {'never' if first is None else first:>29}  {within:23d}")
    empty = [r for r in rows if r[1] > bound]
    reached = [r[2] for r in empty if r[2] is not None]
    print(
        f"start-up without a network within {bound:,} parameters: {len(empty)} of {len(rows)} seeds; "
        f"the niche filled in {len(reached)} of them within {args.trials} trials"
        + (f" (median trial {statistics.median(reached):.0f})" if reached else "")
    )
    print(f"trials within the bound, mean over all seeds: {statistics.fmean(r[3] for r in rows):.1f}")


if __name__ == "__main__":
    main()
