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
  architectures. A surrogate has no learning curves, so it serves the sequential replay only.

An architecture asked again is, by default, charged again (a search that does not remember
what it trained retrains it). With ``dedup=True`` a repeat is answered from memory: the sampler
is told the known value, and it costs neither time nor a trial.

Budgets: ``trials`` counts the trials above; ``seconds`` is simulated time, and a trial counts
only if it finishes within it (the replay stops at the first one that would not). After each
trial the incumbent is the architecture with the best validation accuracy so far (the earliest
on ties); its test accuracy is what the search would report, and its regret is the table's best
test accuracy (at the same budget) minus it. Test accuracy is never used to select.

Simulated workers and early stopping (``Simulation``, see ``nasbench.tabular.schedulers``): with
``workers`` > 1 or a scheduler the replay is an event simulation of an asynchronous search. Each
free worker asks the sampler for a candidate at once; a trial occupies its worker for its stored
training time (with a scheduler: epoch by epoch, each stored epoch's validation accuracy reported
at the end of that epoch, as the trial's intermediate value and to the scheduler); results reach
the sampler, the scheduler and the record in simulated-time order. A trial the scheduler stops
frees its worker at the end of its last epoch and is told to the sampler as PRUNED, its epochs'
accuracies as intermediate values, as a live search tells Optuna (TPE ranks pruned trials by them;
GP, CMA-ES and evolution learn from completed trials only). The record is per trial in the order
trials end; a stopped trial's value is its last accuracy, and the incumbent is the best such value
(test accuracy: the architecture's at the full budget). ``trials`` counts trials started (the
replay ends when they have all ended); with ``seconds`` a trial counts only if it ends within it,
and the replay ends when the next result would come later. With ``dedup`` a repeat of an ended
trial is answered with its outcome, a repeat of a running one is told failed; neither costs
anything. One worker without a scheduler asks, tells and records exactly as the sequential replay.
"""

from __future__ import annotations

import heapq
import itertools
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
from nasbench.errors import ConfigError, UnknownName
from nasbench.search.samplers import CONSTRAINT_KEY, TrainedStartup, create_sampler, sampler_names
from nasbench.space.sample import sample_architecture
from nasbench.tabular.replay_gp import REFIT_EVERY, REPLAY_GP_OPTIONS, ReplayGPSampler, check_replay_gp
from nasbench.tabular.schedulers import EpochScheduler, Simulation, check_simulation, trial_plan
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
    """One sampler, one seed, one benchmark: a record per trial, in the order trials ended."""

    benchmark: str
    sampler: str
    seed: int
    oracle_test_acc: float  # best test accuracy in the table, at the replayed budget
    number: list[int] = field(default_factory=list)  # the trial's number in the replay's Optuna study
    entry: list[int] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    surrogate: list[bool] = field(default_factory=list)  # valued by the surrogate, not the table
    val_acc: list[float] = field(default_factory=list)  # the last one the trial reported
    test_acc: list[float] = field(default_factory=list)
    start_s: list[float] = field(default_factory=list)  # simulated clock when the trial started
    time_s: list[float] = field(default_factory=list)  # simulated clock when the trial finished
    epochs: list[int] = field(default_factory=list)  # epochs it trained
    pruned: list[bool] = field(default_factory=list)  # stopped early by the scheduler
    best_test_acc: list[float] = field(default_factory=list)  # of the best-by-validation so far
    asks: int = 0
    infeasible: int = 0
    repeats: int = 0  # asks of an architecture already evaluated (charged again unless dedup)
    stopped: str = ""
    wall_s: float = 0.0
    simulation: Simulation = field(default_factory=Simulation)

    @property
    def method(self) -> str:
        """The sampler, and how its trials ran unless sequentially (``tpe, asha, 4 workers``)."""
        return self.simulation.label(self.sampler)

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
                **{k: [v] * n for k, v in self.describe().items()},
                "seed": [self.seed] * n,
                "trial": np.arange(1, n + 1),
                "optuna_trial": self.number,
                "entry": self.entry,
                "exact": self.exact,
                "surrogate": self.surrogate or [False] * n,  # a run put together without it
                "val_acc": self.val_acc,
                "test_acc": self.test_acc,
                "start_s": self.start_s,
                "time_s": self.time_s,
                "epochs": self.epochs,
                "pruned": self.pruned,
                "best_test_acc": self.best_test_acc,
                "regret": self.regret,
            }
        )

    def describe(self) -> dict[str, Any]:
        """The columns naming what ran: method, sampler, scheduler, simulated workers."""
        return {
            "method": self.method,
            "sampler": self.sampler,
            "scheduler": self.simulation.scheduler,
            "sim_workers": self.simulation.workers,
        }


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
    simulation: Simulation | None = None,
    surrogate: Surrogate | None = None,
) -> ReplayRun:
    """Search ``bench`` with ``sampler`` (seeded) until ``budget`` is spent; deterministic per seed.

    ``threads``: torch CPU threads for model-based samplers (GP computes with torch).
    ``simulation``: simulated workers and scheduler (default: one worker, none: sequential).
    ``surrogate``: answers for architectures the table lacks (refused if fitted on another space,
    data, recipe or budget, or with a simulation: it predicts no learning curves)."""
    sim = simulation or Simulation()
    check_simulation(bench, sim, epochs)
    _check_surrogate(surrogate, sim)
    col = bench.column(epochs)
    run = ReplayRun(bench.name, sampler, seed, float(np.nanmax(bench.test_acc[:, col])), simulation=sim)
    t0 = time.perf_counter()
    # BLAS threads too: NumPy's OpenBLAS spinning beside torch's on shared cores doubled the GP's
    # time here (its kernel fits call L-BFGS-B, which calls BLAS on tiny vectors).
    with _quiet_optuna(), torch_threads(threads), threadpool_limits(threads, user_api="blas"):
        study = optuna.create_study(direction="maximize", sampler=replay_sampler(sampler, seed, options or {}, bench))
        if sim.sequential:
            rows = None if surrogate is None else surrogate.rows(bench, col)
            val, test, cost = bench.val_acc[:, col], bench.test_acc[:, col], bench.train_time_s[:, col]
            _search(bench, study, run, budget, dedup, val, test, cost, bench.budgets[col], rows)
        else:
            _Simulated(bench, study, run, budget, dedup, col).search()
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
    try:  # the start-up counts trained trials, as in a live search (``TrainedStartup``)
        model = ReplayGPSampler(seed=seed, **{**settings, "n_startup_trials": 0})
        return TrainedStartup(model, settings["n_startup_trials"], seed)
    except (TypeError, ValueError) as e:  # an unknown option, or a value the sampler refuses
        raise ConfigError(f"--options gp: {e}.") from e


def _check_surrogate(surrogate: Surrogate | None, sim: Simulation) -> None:
    if surrogate is not None and not sim.sequential:
        raise ConfigError(
            "--surrogate serves the sequential replay only (one simulated worker, no scheduler): "
            "a surrogate predicts final values, not the learning curves a simulation replays."
        )


class _Asking:
    """A search's asks: the table entries it evaluated, and asks in a row that gave nothing to
    evaluate; ``rows``: a surrogate's rows answer architectures the table lacks."""

    def __init__(self, rows: SurrogateRows | None = None) -> None:
        self.seen: set[int] = set()
        self.idle = 0
        self.rows = rows

    def evaluate(self, i: int) -> None:
        self.seen.add(i)
        self.idle = 0

    def next(
        self,
        bench: Benchmark,
        study: optuna.Study,
        run: ReplayRun,
        dedup: bool,
        remembered: Callable[[optuna.Trial, int], None],
    ) -> tuple[optuna.Trial, int, bool] | None:
        """Ask until the sampler proposes an architecture to evaluate: its trial, entry and
        whether the entry is exact. Infeasible asks are told here, repeats with ``dedup`` answered
        by ``remembered``; None (``run.stopped`` says why) when asking should end."""
        while True:
            if self.idle >= MAX_IDLE_ASKS:
                run.stopped = f"{MAX_IDLE_ASKS} asks in a row gave nothing new to evaluate"
                return None
            if dedup and (self.rows is None or bench.exhaustive) and len(self.seen) == len(bench):
                run.stopped = "every architecture of the table was evaluated"
                return None
            trial = study.ask()
            run.asks += 1
            arch = sample_architecture(trial, bench.space)
            reason = bench.infeasibility(arch)
            if reason is not None:
                run.infeasible += 1
                self.idle += 1
                _tell_infeasible(study, trial, reason)
                continue
            i, exact = bench.lookup(arch) if self.rows is None else self.rows.lookup(arch)
            repeat = i in self.seen
            run.repeats += repeat
            if dedup and repeat:
                self.idle += 1
                remembered(trial, i)
                continue
            return trial, i, exact


def _search(
    bench: Benchmark,
    study: optuna.Study,
    run: ReplayRun,
    budget: Budget,
    dedup: bool,
    val: np.ndarray,
    test: np.ndarray,
    cost: np.ndarray,
    epochs: int = 0,
    rows: SurrogateRows | None = None,
) -> None:
    """The sequential replay: ask, answer from the table (or ``rows``), tell, record; ``epochs``:
    the budget's, recorded."""
    clock, best, asking = 0.0, _Incumbent(), _Asking(rows)

    def answer(i: int) -> tuple[float, float, float]:
        return (float(val[i]), float(test[i]), float(cost[i])) if rows is None else rows.values(i)

    while budget.trials is None or len(run.entry) < budget.trials:
        asked = asking.next(bench, study, run, dedup, lambda trial, i: _tell(study, trial, answer(i)[0]))
        if asked is None:
            return
        trial, i, exact = asked
        v, t, c = answer(i)
        if budget.seconds is not None and clock + c > budget.seconds:
            run.stopped = "time budget spent"
            return
        start, clock = clock, clock + c
        asking.evaluate(i)
        _tell(study, trial, v)
        best.offer(v, t)
        _record(run, trial, i, exact, v, t, (start, clock), best.test, epochs)
        run.surrogate.append(i >= len(bench))
    run.stopped = "trial budget spent"


@dataclass(eq=False)
class _Running:
    """A trial on a simulated worker: when its results arrive and what they say."""

    trial: optuna.Trial
    entry: int
    exact: bool
    start: float
    ends: np.ndarray  # simulated clock of each result (each epoch's with a scheduler, else one)
    values: np.ndarray  # validation accuracy of each result
    per_epoch: bool  # reports each epoch to Optuna and the scheduler (else one result at its end)
    reported: int = 0


class _Simulated:
    """An asynchronous search with ``run.simulation``'s workers and scheduler, simulated event by
    event (see the module docstring)."""

    def __init__(
        self, bench: Benchmark, study: optuna.Study, run: ReplayRun, budget: Budget, dedup: bool, col: int
    ) -> None:
        self.bench, self.study, self.run, self.budget, self.dedup = bench, study, run, budget, dedup
        sim = run.simulation
        self.test = bench.test_acc[:, col]
        self.epochs = bench.budgets[col]
        self.ends, self.values = trial_plan(bench, col, sim)
        self.scheduler = None if sim.scheduler == "none" else EpochScheduler(sim, self.epochs, run.seed)
        self.asking, self.best = _Asking(), _Incumbent()
        self.free, self.started, self.asked_all = sim.workers, 0, False
        self.events: list[tuple[float, int, _Running]] = []  # a heap: (clock, order of scheduling, trial)
        self.order = itertools.count()
        self.outcomes: dict[int, tuple[float, np.ndarray | None]] = {}  # entry: value, intermediate values if pruned

    def search(self) -> None:
        budget = self.budget
        self._fill(0.0)
        while self.events:
            now, _, r = heapq.heappop(self.events)
            if budget.seconds is not None and now > budget.seconds:
                self.run.stopped = "time budget spent"  # the trials still running are cut off
                return
            if self._report(r):
                self._end(r, now)
                self.free += 1
                self._fill(now)
            else:
                heapq.heappush(self.events, (r.start + r.ends[r.reported], next(self.order), r))
        self.run.stopped = self.run.stopped or "trial budget spent"

    def _fill(self, now: float) -> None:
        """Start a trial on each free worker while the budget allows it."""
        budget = self.budget
        while (
            self.free
            and not self.asked_all
            and (budget.trials is None or self.started < budget.trials)
            and (budget.seconds is None or now <= budget.seconds)
        ):
            asked = self.asking.next(self.bench, self.study, self.run, self.dedup, self._remembered)
            if asked is None:
                self.asked_all = True
                return
            trial, i, exact = asked
            self.asking.evaluate(i)
            per_epoch = self.scheduler is not None and len(self.ends[i]) > 1
            r = _Running(trial, i, exact, now, self.ends[i], self.values[i], per_epoch)
            if self.scheduler is not None and per_epoch:
                self.scheduler.add(trial.number)
            heapq.heappush(self.events, (now + r.ends[0], next(self.order), r))
            self.free -= 1
            self.started += 1

    def _report(self, r: _Running) -> bool:
        """Deliver ``r``'s next result; True if the trial ends with it (its last, or stopped)."""
        value = float(r.values[r.reported])
        r.reported += 1
        last = r.reported == len(r.ends)
        if self.scheduler is None or not r.per_epoch:
            return last
        r.trial.report(value, step=r.reported)
        stop = self.scheduler.report(r.trial.number, r.reported, value)
        if stop or last:
            self.scheduler.end(r.trial.number, r.reported, value)
        return stop or last

    def _end(self, r: _Running, now: float) -> None:
        value = float(r.values[r.reported - 1])
        pruned = r.reported < len(r.ends)
        if pruned:
            self.study.tell(r.trial, state=TrialState.PRUNED)
            self.outcomes[r.entry] = (value, r.values[: r.reported])
        else:
            _tell(self.study, r.trial, value)
            self.outcomes[r.entry] = (value, None)
        test = float(self.test[r.entry])
        self.best.offer(value, test)
        trained = r.reported if r.per_epoch else self.epochs
        _record(self.run, r.trial, r.entry, r.exact, value, test, (r.start, now), self.best.test, trained, pruned)

    def _remembered(self, trial: optuna.Trial, i: int) -> None:
        """A repeat with dedup: the outcome of the entry's ended trial, or failed while it runs."""
        known = self.outcomes.get(i)
        if known is None:
            trial.set_user_attr("repeat_of_running_trial", True)
            self.study.tell(trial, state=TrialState.FAIL)
            return
        value, intermediate = known
        if intermediate is None:
            _tell(self.study, trial, value)
            return
        for step, v in enumerate(intermediate, start=1):
            trial.report(float(v), step=step)
        self.study.tell(trial, state=TrialState.PRUNED)


def _record(
    run: ReplayRun,
    trial: optuna.Trial,
    i: int,
    exact: bool,
    val: float,
    test: float,
    span: tuple[float, float],
    best_test: float,
    epochs: int,
    pruned: bool = False,
) -> None:
    run.number.append(trial.number)
    run.entry.append(i)
    run.exact.append(exact)
    run.val_acc.append(val)
    run.test_acc.append(test)
    run.start_s.append(span[0])
    run.time_s.append(span[1])
    run.epochs.append(epochs)
    run.pruned.append(pruned)
    run.best_test_acc.append(best_test)


def results(run: ReplayRun, bench: Benchmark, epochs: int | None = None) -> pd.DataFrame:
    """Every result ``run``'s recorded trials reported, in simulated-time order, as a live search's
    callbacks would have seen them: ``time_s``, ``trial`` (the record's 1-based index), ``entry``,
    ``epoch`` and ``val_acc``. With a scheduler, one per epoch a trial trained; else one per trial,
    when it ended. ``epochs``: the budget replayed (None: the longest)."""
    ends, values = trial_plan(bench, bench.column(epochs), run.simulation)
    rows = []
    for k, (i, start, end) in enumerate(zip(run.entry, run.start_s, run.time_s)):
        if len(ends[i]) == 1:  # one result, at the end (no scheduler, or the training failed)
            rows.append((end, k + 1, i, run.epochs[k], float(values[i][0])))
            continue
        rows += [(start + ends[i][e], k + 1, i, e + 1, float(values[i][e])) for e in range(run.epochs[k])]
    df = pd.DataFrame(rows, columns=["time_s", "trial", "entry", "epoch", "val_acc"])
    return df.sort_values(["time_s", "trial"], kind="stable", ignore_index=True)


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
    simulations: Sequence[Simulation] = (Simulation(),),
    surrogate: Surrogate | None = None,
) -> list[ReplayRun]:
    """Every benchmark x sampler x simulation x seed (seeds 0..seeds-1), in that order.

    ``workers`` > 1 replays in that many processes (each replay is deterministic per seed, so the
    runs are the same as with one); ``progress`` is then called as runs finish, in order.
    Every argument is checked before the first replay starts."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}.")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}.")
    for name in samplers:
        if name not in sampler_names():
            raise UnknownName("sampler", name, sampler_names(), field="--samplers")
    for bench in benches:
        for sim in simulations:
            check_simulation(bench, sim, epochs)
            _check_surrogate(surrogate, sim)
    jobs = [
        (bench, sampler, seed, budget, (options or {}).get(sampler), epochs, dedup, threads, sim, surrogate)
        for bench in benches
        for sampler in samplers
        for sim in simulations
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
