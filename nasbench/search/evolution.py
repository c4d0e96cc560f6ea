"""Regularised (aging) evolution, Real et al. 2019, as an Optuna sampler.

Stateless between calls: each trial re-reads the study, and every random draw comes from a
generator derived from (seed, trial number, purpose), so a resumed or copied sampler proposes
exactly what the original would have. The first ``population_size`` trials are random. After
that, ``before_trial`` picks one parent by tournament (``sample_size`` members of the
population, the ``population_size`` most recent feasible complete trials; the best first
objective wins) and one of its parameters to mutate, and stores both in the trial's system
attributes; ``sample_independent`` then answers each parameter from the parent, re-sampling the
chosen one to a different value. Parameters the parent never had (the mutation changed the
space, e.g. a stage's block became inverted and now has an expansion ratio) are sampled at random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

PARENT_KEY = "evolution:parent_params"
MUTATE_KEY = "evolution:mutate"


class RegularizedEvolutionSampler(BaseSampler):
    def __init__(self, *, population_size: int = 20, sample_size: int = 5, seed: int | None = None) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"sample_size must lie in [1, population_size], got {sample_size}")
        self.population_size, self.sample_size = population_size, sample_size
        self.seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        # (storage, trial id) -> (parent params, mutated name) as before_trial wrote them to storage:
        # saves a storage read per parameter. Storage stays the record; a trial not here is read from it.
        self._plans: dict[tuple[int, int], tuple[dict[str, Any] | None, str | None]] = {}

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def _rng(self, trial: FrozenTrial, salt: str) -> random.Random:
        # Derived from (seed, trial number, salt): reproducible without state in self.
        return random.Random(f"{self.seed}:{trial.number}:{salt}")

    def population(self, study: optuna.Study) -> list[FrozenTrial]:
        done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.values is not None and max(_constraint_values(t), default=0.0) <= 0]
        return sorted(done, key=lambda t: t.number)[-self.population_size :]

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if "fixed_params" in trial.system_attrs:  # enqueued (e.g. re-queued after a crash): keep it as is
            return
        pop = self.population(study)
        if len(pop) < self.population_size:
            return
        rng = self._rng(trial, "tournament")
        candidates = rng.sample(pop, self.sample_size)
        sign = 1.0 if study.directions[0] == StudyDirection.MAXIMIZE else -1.0
        parent = max(candidates, key=lambda t: sign * t.values[0])
        mutable = sorted(name for name, d in parent.distributions.items() if _choices(d) > 1)
        mutate = rng.choice(mutable) if mutable else None
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, PARENT_KEY, dict(parent.params))
        if mutate is not None:
            storage.set_trial_system_attr(trial._trial_id, MUTATE_KEY, mutate)
        self._plans[_key(study, trial)] = (dict(parent.params), mutate)

    def _plan(self, study: optuna.Study, trial: FrozenTrial) -> tuple[dict[str, Any] | None, str | None]:
        key = _key(study, trial)
        if key not in self._plans:
            attrs = trial.system_attrs
            self._plans[key] = (attrs.get(PARENT_KEY), attrs.get(MUTATE_KEY))
        return self._plans[key]

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        rng = self._rng(trial, param_name)
        parent, mutate = self._plan(study, trial)
        if parent is None or param_name not in parent:
            return _any_value(param_distribution, rng)
        value = parent[param_name]
        if mutate == param_name or not param_distribution._contains(param_distribution.to_internal_repr(value)):
            return _other_value(param_distribution, value, rng)
        return value

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._plans.pop(_key(study, trial), None)


def _key(study: optuna.Study, trial: FrozenTrial) -> tuple[int, int]:
    return id(study._storage), trial._trial_id


def _choices(d: BaseDistribution) -> int:
    if isinstance(d, CategoricalDistribution):
        return len(d.choices)
    if isinstance(d, IntDistribution):
        return (d.high - d.low) // d.step + 1
    return 2  # continuous: always mutable


def _any_value(d: BaseDistribution, rng: random.Random) -> Any:
    if isinstance(d, CategoricalDistribution):
        return rng.choice(d.choices)
    if isinstance(d, IntDistribution):
        return rng.choice(range(d.low, d.high + 1, d.step))
    assert isinstance(d, FloatDistribution), f"unsupported distribution {d!r}"
    if d.log:
        return math.exp(rng.uniform(math.log(d.low), math.log(d.high)))
    if d.step is not None:
        return d.low + d.step * rng.randrange(int(round((d.high - d.low) / d.step)) + 1)
    return rng.uniform(d.low, d.high)


def _other_value(d: BaseDistribution, current: Any, rng: random.Random) -> Any:
    """A value of ``d`` different from ``current`` when there is one."""
    if isinstance(d, CategoricalDistribution):
        others = [c for c in d.choices if c != current] or list(d.choices)
        return rng.choice(others)
    if isinstance(d, IntDistribution):
        values = [v for v in range(d.low, d.high + 1, d.step) if v != current] or [d.low]
        return rng.choice(values)
    return _any_value(d, rng)


def _constraint_values(t: FrozenTrial) -> list[float]:
    c = t.constraints
    return list(c.values()) if isinstance(c, dict) else list(c or [])
