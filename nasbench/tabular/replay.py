"""Replay a sampler against a tabular benchmark: a search where a query replaces training.

One replay is an Optuna study (in-memory storage) with the sampler from ``create_sampler``,
asking define-by-run over the benchmark's own space through ``sample_architecture``, as a real
search does. For each asked architecture:

- infeasible for the benchmark's data (or recorded infeasible at build time): told to the sampler
  as the worst value with a violated constraint, as the search runner does; it costs no time and
  is not a trial;
- otherwise the table answers with the stored validation accuracy at the chosen epoch budget (the
  mean over the stored seeds), and the simulated clock advances by the stored training time. If
  the benchmark lacks the architecture (it holds a sample of a larger space), the nearest entry
  answers (see ``nasbench.tabular.table``); ``exact`` records which. With a surrogate
  (``nasbench.tabular.surrogate``) the surrogate answers instead, with predicted accuracies and
  training time: ``surrogate`` marks those trials (surrogate values, not trained ones), and
  ``dedup`` on a table that is not the whole space stops only when asks stop giving new
  architectures.

An architecture asked again is, by default, charged again (a search that does not remember
what it trained retrains it). With ``dedup=True`` a repeat is answered from memory: the sampler
is told the known value, and it costs neither time nor a trial.

Budgets: ``trials`` counts the trials above; ``seconds`` is simulated time, and a trial counts
only if it finishes within it (the replay stops at the first one that would not). After each
trial the incumbent is the architecture with the best validation accuracy so far (the earliest
on ties); its test accuracy is what the search would report, and its regret is the table's best
test accuracy (at the same budget) minus it. Test accuracy is never used to select.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from nasbench.core.durations import parse_duration
from nasbench.errors import ConfigError
from nasbench.search.samplers import CONSTRAINT_KEY, create_sampler
from nasbench.space.sample import sample_architecture
from nasbench.tabular.replay_gp import REFIT_EVERY, REPLAY_GP_OPTIONS, ReplayGPSampler, check_replay_gp
from nasbench.tabular.table import Benchmark
from nasbench.train.threads import torch_threads

if TYPE_CHECKING:
    from nasbench.tabular.surrogate import Surrogate, SurrogateRows

MAX_IDLE_ASKS = 1000  # asks in a row that yield no trial (infeasible, or repeats with dedup)
WORST_VAL_ACC = 0.0


@dataclass(frozen=True)
class Budget:
    """How long one replay searches: trials, simulated seconds, or both (whichever ends first)."""

    trials: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.trials is None and self.seconds is None:
            raise ConfigError("--budget: give a number of trials (200trials), a time (3600s, 1h) or both.")
        if (self.trials is not None and self.trials < 1) or (self.seconds is not None and self.seconds <= 0):
            raise ConfigError(f"--budget must be positive, got {self.describe()}.")

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``200trials``, ``3600s``, ``1h``, or both comma-separated (``200trials,1h``)."""
        trials, seconds = None, None
        for part in (p.strip() for p in text.split(",") if p.strip()):
            m = re.fullmatch(r"(\d+)\s*trials?", part)
            if m:
                trials = int(m.group(1))
                continue
            try:
                seconds = parse_duration(part)
            except ValueError:
                raise ConfigError(f"--budget {text!r}: write e.g. 200trials, 3600s, 30m or 1h.") from None
        return cls(trials, seconds)

    def describe(self) -> str:
        parts = ([f"{self.trials} trials"] if self.trials is not None else []) + (
            [f"{self.seconds:g} s simulated"] if self.seconds is not None else []
        )
        return " or ".join(parts)


@dataclass
class ReplayRun:
    """One sampler, one seed, one benchmark: a record per trial."""

    benchmark: str
    sampler: str
    seed: int
    oracle_test_acc: float  # best test accuracy in the table, at the replayed budget
    entry: list[int] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    surrogate: list[bool] = field(default_factory=list)  # valued by the surrogate, not the table
    val_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)  # simulated clock when the trial finished
    best_test_acc: list[float] = field(default_factory=list)  # of the best-by-validation so far
    asks: int = 0
    infeasible: int = 0
    repeats: int = 0  # asks of an architecture already evaluated (charged again unless dedup)
    stopped: str = ""
    wall_s: float = 0.0

    @property
    def surrogate_values(self) -> int:
        return sum(self.surrogate)

    @property
    def regret(self) -> np.ndarray:
        return self.oracle_test_acc - np.asarray(self.best_test_acc, dtype=float)

    def frame(self) -> pd.DataFrame:
        n = len(self.entry)
        return pd.DataFrame(
            {
                "benchmark": [self.benchmark] * n,
                "sampler": [self.sampler] * n,
                "seed": [self.seed] * n,
                "trial": np.arange(1, n + 1),
                "entry": self.entry,
                "exact": self.exact,
                "surrogate": self.surrogate or [False] * n,  # a run put together without it
                "val_acc": self.val_acc,
                "test_acc": self.test_acc,
                "time_s": self.time_s,
                "best_test_acc": self.best_test_acc,
                "regret": self.regret,
            }
        )


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial log lines and experimental warnings off for the replay."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


class _Incumbent:
    """Best validation accuracy so far and the test accuracy of that architecture."""

    def __init__(self) -> None:
        self.val, self.test = -math.inf, math.nan

    def offer(self, val: float, test: float) -> None:
        if math.isfinite(val) and val > self.val:
            self.val, self.test = val, test


def replay(
    bench: Benchmark,
    sampler: str,
    seed: int,
    budget: Budget,
    options: dict[str, Any] | None = None,
    epochs: int | None = None,
    dedup: bool = False,
    threads: int = 1,
    surrogate: Surrogate | None = None,
) -> ReplayRun:
    """Search ``bench`` with ``sampler`` (seeded) until ``budget`` is spent; deterministic per seed.

    ``threads``: torch CPU threads for model-based samplers (GP computes with torch);
    ``surrogate``: answers for architectures the table lacks (refused if fitted on another space,
    data, recipe or budget)."""
    col = bench.column(epochs)
    val, test, cost = bench.val_acc[:, col], bench.test_acc[:, col], bench.train_time_s[:, col]
    run = ReplayRun(bench.name, sampler, seed, float(np.nanmax(test)))
    t0 = time.perf_counter()
    # BLAS threads too: NumPy's OpenBLAS spinning beside torch's on shared cores doubled the GP's
    # time here (its kernel fits call L-BFGS-B, which calls BLAS on tiny vectors).
    with _quiet_optuna(), torch_threads(threads), threadpool_limits(threads, user_api="blas"):
        study = optuna.create_study(direction="maximize", sampler=replay_sampler(sampler, seed, options or {}, bench))
        rows = None if surrogate is None else surrogate.rows(bench, col)
        _search(bench, study, run, budget, dedup, val, test, cost, rows)
    run.wall_s = time.perf_counter() - t0
    return run


def replay_sampler(name: str, seed: int, options: dict[str, Any], bench: Benchmark) -> optuna.samplers.BaseSampler:
    """The sampler a replay uses: the search's own, except ``gp`` with its replay settings.

    ``gp`` is ``ReplayGPSampler`` (see ``nasbench.tabular.replay_gp``): the acquisition maximised
    exactly over the finite space, hyperparameters refitted as the trials grow by 10% (at least
    every 20 trials);
    ``{"refit_every": 1, "grid": false}`` makes it Optuna's GPSampler as a live search runs it.
    """
    if name != "gp":
        return create_sampler(name, seed, options, bench.space, 1)
    settings = {"n_startup_trials": 5, "refit_every": REFIT_EVERY, "grid": True, **options}
    if settings["refit_every"] == 1 and not settings["grid"]:
        live = {k: v for k, v in options.items() if k not in REPLAY_GP_OPTIONS}
        return create_sampler(name, seed, live, bench.space, 1)
    check_replay_gp()
    try:
        return ReplayGPSampler(seed=seed, **settings)
    except (TypeError, ValueError) as e:  # an unknown option, or a value the sampler refuses
        raise ConfigError(f"--options gp: {e}.") from e


def _search(
    bench: Benchmark,
    study: optuna.Study,
    run: ReplayRun,
    budget: Budget,
    dedup: bool,
    val: np.ndarray,
    test: np.ndarray,
    cost: np.ndarray,
    rows: SurrogateRows | None = None,
) -> None:
    clock, idle, best = 0.0, 0, _Incumbent()
    seen: set[int] = set()  # table entries evaluated
    while budget.trials is None or len(run.entry) < budget.trials:
        if idle >= MAX_IDLE_ASKS:
            run.stopped = f"{MAX_IDLE_ASKS} asks in a row gave nothing new to evaluate"
            return
        if dedup and (rows is None or bench.exhaustive) and len(seen) == len(bench):
            run.stopped = "every architecture of the table was evaluated"
            return
        trial = study.ask()
        run.asks += 1
        arch = sample_architecture(trial, bench.space)
        reason = bench.infeasibility(arch)
        if reason is not None:
            run.infeasible += 1
            idle += 1
            _tell_infeasible(study, trial, reason)
            continue
        i, exact = bench.lookup(arch) if rows is None else rows.lookup(arch)
        v, t, c = (float(val[i]), float(test[i]), float(cost[i])) if rows is None else rows.values(i)
        repeat = i in seen
        run.repeats += repeat
        if dedup and repeat:
            idle += 1
            _tell(study, trial, v)
            continue
        if budget.seconds is not None and clock + c > budget.seconds:
            run.stopped = "time budget spent"
            return
        clock += c
        idle = 0
        seen.add(i)
        _tell(study, trial, v)
        best.offer(v, t)
        _record(run, i, exact, v, t, clock, best.test)
        run.surrogate.append(i >= len(bench))
    run.stopped = "trial budget spent"


def _record(run: ReplayRun, i: int, exact: bool, val: float, test: float, clock: float, best_test: float) -> None:
    run.entry.append(i)
    run.exact.append(exact)
    run.val_acc.append(val)
    run.test_acc.append(test)
    run.time_s.append(clock)
    run.best_test_acc.append(best_test)


def _tell(study: optuna.Study, trial: optuna.Trial, value: float) -> None:
    if not math.isfinite(value):  # the stored training failed
        study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_constraint(CONSTRAINT_KEY, 0.0)
    study.tell(trial, float(value))


def _tell_infeasible(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    trial.set_user_attr("infeasible", reason)
    trial.set_constraint(CONSTRAINT_KEY, 1.0)
    study.tell(trial, WORST_VAL_ACC)


def replay_all(
    benches: Sequence[Benchmark],
    samplers: Sequence[str],
    seeds: int,
    budget: Budget,
    options: dict[str, dict[str, Any]] | None = None,
    epochs: int | None = None,
    dedup: bool = False,
    threads: int = 1,
    progress: Callable[[ReplayRun], None] | None = None,
    workers: int = 1,
    surrogate: Surrogate | None = None,
) -> list[ReplayRun]:
    """Every benchmark x sampler x seed (seeds 0..seeds-1), in that order.

    ``workers`` > 1 replays in that many processes (each replay is deterministic per seed, so the
    runs are the same as with one); ``progress`` is then called as runs finish, in order."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}.")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}.")
    jobs = [
        (bench, sampler, seed, budget, (options or {}).get(sampler), epochs, dedup, threads, surrogate)
        for bench in benches
        for sampler in samplers
        for seed in range(seeds)
    ]
    if workers == 1 or len(jobs) == 1:
        results: Iterator[ReplayRun] = (replay(*job) for job in jobs)
        return _collect(results, progress)
    # spawn: a fresh interpreter per worker, so no torch or Optuna state is inherited by fork.
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn")) as pool:
        return _collect(pool.map(_replay_job, jobs), progress)


def _replay_job(job: tuple[Any, ...]) -> ReplayRun:
    return replay(*job)


def _collect(results: Iterable[ReplayRun], progress: Callable[[ReplayRun], None] | None) -> list[ReplayRun]:
    runs = []
    for run in results:
        runs.append(run)
        if progress is not None:
            progress(run)
    return runs
