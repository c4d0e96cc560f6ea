"""How a replay runs its trials: simulated parallel workers, and a scheduler stopping trials early.

A ``Simulation`` names the scheduler, the number of simulated workers and the scheduler's grace
period and reduction factor. The schedulers are the live search's Ray Tune schedulers, built as
``nasbench.search.dispatch.make_scheduler`` builds them for a study (``time_attr="epoch"``,
``max_t`` the trial's epochs, metric ``val_acc`` maximised):

- ``asha``: asynchronous successive halving, one bracket: rungs at ``grace_period`` x
  ``reduction_factor``^k epochs; a trial reaching a rung continues only if its validation accuracy
  is in the top 1/``reduction_factor`` of those recorded at that rung so far;
- ``hyperband``: the same over all of Hyperband's brackets (a trial's bracket is drawn as Ray
  draws it, from a generator seeded by the replay's seed);
- ``median``: Ray's median stopping rule (hard stop, at least 3 other trials): from epoch
  ``grace_period`` on, a trial whose best accuracy so far is below the median of the other trials'
  running means up to the same epoch stops (not in a study's ``scheduler`` field; the replay only);
- ``none``: every trial trains all its epochs.

``EpochScheduler`` feeds one replay's epochs to such a scheduler in simulated-time order, as Tune
feeds it a live search's epoch reports, and calls ``on_trial_complete`` when a trial ends, as Tune
does for a finished or stopped trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.core.registry import Registry
from nasbench.errors import ConfigError
from nasbench.search.config import SchedulerConfig
from nasbench.search.dispatch import make_scheduler
from nasbench.tabular.table import Benchmark

METRIC, TIME_ATTR = "val_acc", "epoch"  # the result keys a live search's schedulers read
MEDIAN_MIN_SAMPLES = 3  # Ray's default: other trials needed before the median rule stops one

SchedulerFactory = Callable[["Simulation", int], Any]
_SCHEDULERS: Registry[SchedulerFactory] = Registry("scheduler")


@dataclass(frozen=True)
class Simulation:
    """``workers`` simulated workers running a replay's trials, ``scheduler`` stopping them early.

    The default (no scheduler, one worker) is the sequential replay."""

    scheduler: str = "none"
    workers: int = 1
    grace_period: int = 1
    reduction_factor: float = 3.0

    def __post_init__(self) -> None:
        _SCHEDULERS.get(self.scheduler, field="--scheduler")
        if self.workers < 1:
            raise ConfigError(f"--sim-workers must be at least 1, got {self.workers}.")
        if self.grace_period < 1:
            raise ConfigError(f"--grace-period must be at least 1 epoch, got {self.grace_period}.")
        if not self.reduction_factor > 1:
            raise ConfigError(f"--reduction-factor must be more than 1, got {self.reduction_factor:g}.")

    @property
    def sequential(self) -> bool:
        return self.scheduler == "none" and self.workers == 1

    def label(self, sampler: str) -> str:
        """How reports name ``sampler`` run this way: the sampler's name alone when sequential."""
        if self.sequential:
            return sampler
        return f"{sampler}, {self.scheduler}, {self.workers} worker{'s' if self.workers > 1 else ''}"

    def describe(self) -> str:
        workers = f"{self.workers} simulated worker{'s' if self.workers > 1 else ''}"
        if self.scheduler == "none":
            return f"{workers}, no early stopping"
        rule = "" if self.scheduler == "median" else f", reduction factor {self.reduction_factor:g}"
        return f"{workers}, {self.scheduler} (grace period {self.grace_period} epoch(s){rule})"


def scheduler_names() -> list[str]:
    return _SCHEDULERS.names()


def parse_simulations(
    schedulers: str, workers: str, grace_period: int = 1, reduction_factor: float = 3.0
) -> tuple[Simulation, ...]:
    """Every scheduler x worker count of two comma-separated lists (``asha,none`` and ``1,4``)."""
    names = [s.strip() for s in schedulers.split(",") if s.strip()] or ["none"]
    counts = []
    for part in (p.strip() for p in workers.split(",") if p.strip()):
        try:
            counts.append(int(part))
        except ValueError:
            raise ConfigError(f"--sim-workers {workers!r}: give whole numbers of workers, e.g. 1,4.") from None
    return tuple(Simulation(s, n, grace_period, reduction_factor) for s in names for n in counts or [1])


def check_simulation(bench: Benchmark, sim: Simulation, epochs: int | None) -> None:
    """Raise ConfigError unless ``bench`` can be replayed as ``sim`` at ``epochs`` (None: the longest)."""
    col = bench.column(epochs)
    if sim.scheduler == "none":
        return
    longest = bench.budgets[-1]
    if col != len(bench.budgets) - 1:
        raise ConfigError(
            f"--epochs {epochs} with --scheduler {sim.scheduler}: the learning curves of benchmark "
            f"{bench.name!r} are those of its longest budget ({longest} epochs); leave --epochs out."
        )
    if sim.grace_period > longest:
        raise ConfigError(f"--grace-period {sim.grace_period} is more than the {longest} epochs of a trial.")
    trained = np.isfinite(bench.val_acc[:, col])
    curves = np.isfinite(bench.curves["val_acc"]).all(axis=1) & np.isfinite(bench.curves["epoch_time_s"]).all(axis=1)
    missing = int((trained & ~curves).sum())
    if missing:
        raise ConfigError(
            f"benchmark {bench.name!r} has no per-epoch learning curve for {missing} of its {int(trained.sum())} "
            f"trained architectures; --scheduler {sim.scheduler} needs them (replay it with --scheduler none)."
        )


def trial_plan(bench: Benchmark, col: int, sim: Simulation) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per table entry: when each of its results arrives after its start, and the values reported.

    Without a scheduler a trial reports once, its validation accuracy at the replayed budget, after
    its stored training time. With one it reports every epoch's stored validation accuracy (the
    last one being the table's value at the full budget) at the end of that epoch: the run's
    stored time outside epochs (setup: training time minus the epochs' sum, never negative), then
    the stored epoch times. A trial trained to the end thus costs its stored training time either
    way. An entry whose training failed (no value) reports once, after its training time.
    """
    val, cost = bench.val_acc[:, col], bench.train_time_s[:, col]
    ends: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for i in range(len(bench)):
        spent = float(cost[i]) if math.isfinite(cost[i]) else 0.0
        if sim.scheduler == "none" or not math.isfinite(val[i]):
            ends.append(np.array([spent]))
            values.append(np.array([val[i]], dtype=float))
            continue
        epoch_time = bench.curves["epoch_time_s"][i]
        ends.append(max(0.0, spent - float(epoch_time.sum())) + np.cumsum(epoch_time))
        curve = bench.curves["val_acc"][i].astype(float)
        curve[-1] = val[i]
        values.append(curve)
    return ends, values


# --- the schedulers -----------------------------------------------------------------------------
def register_scheduler(name: str) -> Callable[[SchedulerFactory], SchedulerFactory]:
    """Decorator registering ``(simulation, epochs) -> a Ray Tune scheduler or None`` as ``name``."""
    return _SCHEDULERS.register(name)


@register_scheduler("none")
def _none(sim: Simulation, epochs: int) -> Any:
    return None


@register_scheduler("asha")
@register_scheduler("hyperband")
def _successive_halving(sim: Simulation, epochs: int) -> Any:
    cfg = SchedulerConfig(name=sim.scheduler, grace_period=sim.grace_period, reduction_factor=sim.reduction_factor)
    return make_scheduler(cfg, epochs)


@register_scheduler("median")
def _median(sim: Simulation, epochs: int) -> Any:
    from ray.tune.schedulers import MedianStoppingRule

    return MedianStoppingRule(
        time_attr=TIME_ATTR, grace_period=sim.grace_period, min_samples_required=MEDIAN_MIN_SAMPLES, hard_stop=True
    )


class _TuneTrial:
    """What Ray's schedulers read of a trial: its id (the median rule also keys its results by it)."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


class _Controller:
    """What Ray's schedulers ask of Tune's controller: the median rule, short of samples, pauses a
    trial only if another waits; a free simulated worker takes a new candidate at once, so none does."""

    @staticmethod
    def get_live_trials() -> list[Any]:
        return []


class EpochScheduler:
    """A live search's Tune scheduler deciding on one replay's trials, epoch by epoch."""

    def __init__(self, sim: Simulation, epochs: int, seed: int) -> None:
        from ray.tune.schedulers import TrialScheduler

        self._stop = TrialScheduler.STOP
        self._tune = _SCHEDULERS.get(sim.scheduler)(sim, epochs)
        if self._tune is None:
            raise ValueError("EpochScheduler needs a scheduler, not 'none'")
        self._tune.set_search_properties(METRIC, "max")
        self._controller = _Controller()
        self._trials: dict[int, _TuneTrial] = {}
        # Ray draws a trial's Hyperband bracket from NumPy's global generator: the replay's own,
        # seeded, stands in for it while Ray draws (and the global one is left as it was).
        self._rng_state = np.random.RandomState(seed).get_state()

    def add(self, number: int) -> None:
        trial = self._trials[number] = _TuneTrial(str(number))
        with self._seeded():
            self._tune.on_trial_add(self._controller, trial)

    def report(self, number: int, epoch: int, value: float) -> bool:
        """Tell the scheduler epoch ``epoch``'s validation accuracy; True if it stops the trial."""
        decision = self._tune.on_trial_result(self._controller, self._trials[number], _result(epoch, value))
        return bool(decision == self._stop)

    def end(self, number: int, epoch: int, value: float) -> None:
        """The trial ended (finished, or stopped) with this last result."""
        self._tune.on_trial_complete(self._controller, self._trials.pop(number), _result(epoch, value))

    @contextmanager
    def _seeded(self) -> Iterator[None]:
        saved = np.random.get_state()
        np.random.set_state(self._rng_state)
        try:
            yield
        finally:
            self._rng_state = np.random.get_state()
            np.random.set_state(saved)


def _result(epoch: int, value: float) -> dict[str, float]:
    return {TIME_ATTR: epoch, METRIC: value}
