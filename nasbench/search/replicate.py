"""``nasbench replicate``: a study over several seeds, and random search at its budget, as related studies.

Each replicate is an ordinary study made from the same file (see ``config.as_replicate``): named
``x@seed1`` (the search with seed 1) or ``x@random-seed0`` (the random sampler, seed 0, no
pre-filter or baselines), with ``replicate: {of: x, seed, random}`` recorded in its stored config,
which is how reports find a study's replicates. The study's own seed is the study itself. Each
one runs (or resumes) through ``run_search``, so re-running the command continues where it stopped.
"""

from __future__ import annotations

from rich.console import Console

from nasbench.errors import ConfigError
from nasbench.search.cluster import start_ray, stop_ray
from nasbench.search.config import load_study
from nasbench.search.ledger import Ledger
from nasbench.search.runner import SearchOutcome, run_search

INTERRUPTED = (130, 143)  # SIGINT, SIGTERM: the user stopped the run


def replicate_seeds(text: str) -> list[int]:
    """``0,1,2`` as distinct seeds in order; ConfigError naming a bad one."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            seed = int(part)
        except ValueError:
            raise ConfigError(f"--seeds {text!r}: {part!r} is not an integer seed; give e.g. 0,1,2.") from None
        if seed < 0:
            raise ConfigError(f"--seeds {text!r}: seeds are non-negative, got {seed}.")
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def replicate_runs(study_seed: int, seeds: list[int], random: bool) -> list[tuple[int, bool] | None]:
    """What to run: None for the study itself (its own seed), else (seed, random) of a replicate.

    Seed by seed, the search then random search: a replicate stopped part-way (hours of compute
    for a headline study) already holds paired seeds to compare, and resumes where it stopped.
    """
    runs: list[tuple[int, bool] | None] = []
    for s in seeds:
        runs.append(None if s == study_seed else (s, False))
        if random:
            runs.append((s, True))
    return runs


def run_replicates(
    study_path: str,
    seeds: list[int],
    ledger: Ledger,
    random: bool = True,
    ray_address: str | None = None,
    console: Console | None = None,
    baselines: bool = True,
) -> list[SearchOutcome]:
    """Run (or resume) the study with each seed and, when ``random``, random search with each seed;
    ``baselines=False`` leaves the study file's baselines for a later run.

    One Ray session serves every run; a run interrupted by a signal stops the rest.
    """
    console = console or Console()
    if not seeds:
        raise ConfigError("--seeds: give at least one seed, e.g. 0,1,2.")
    cfg = load_study(study_path).config  # the file is checked before anything runs
    if cfg.replicate is not None:
        raise ConfigError(f"{study_path}: field 'replicate' is set by `nasbench replicate`; remove it from the file.")
    outcomes: list[SearchOutcome] = []
    started = start_ray(ray_address)
    try:
        for run in replicate_runs(cfg.seed, seeds, random):
            what = (
                "the study itself" if run is None else f"{'random search' if run[1] else 'the search'}, seed {run[0]}"
            )
            console.print(f"replicate of {cfg.name}: {what}", highlight=False)
            out = run_search(
                study_path, ledger, ray_address=ray_address, console=console, replicate=run, baselines=baselines
            )
            outcomes.append(out)
            if out.exit_code in INTERRUPTED:
                break
    finally:
        stop_ray(started)
    return outcomes
