"""Regularised (aging) evolution, Real et al. 2019, as an Optuna sampler.

Stateless between calls: each trial re-reads the study, and every random draw comes from a
generator derived from (seed, trial number, purpose), so a resumed or copied sampler proposes
exactly what the original would have. ``reseed_rng`` draws a new seed (Optuna calls it in each
thread of ``optimize(n_jobs>1)``); ``sampler.seed`` shows the seed in use.

The population is the ``population_size`` most recent feasible trials with a value: complete
ones, and with one objective also those an early-stopping scheduler pruned (Optuna records a
pruned trial's last reported value and step). Under Hyperband most trials are pruned, so counting
only complete ones would leave the population unfilled for most of a short search, which would
then be random search. Until the population is full, trials are random. After that,
``before_trial`` picks one parent by tournament among ``sample_size`` members of the population
and one of its parameters to mutate, and stores both in the trial's system attributes. With one
objective the tournament ranks as Optuna's TPE does: complete trials above pruned ones, pruned
ones by the step they reached (the scheduler judged them there), then by value. With several
objectives (e.g. ``[val_acc, params]``; no intermediate values) the lowest non-domination rank in
the population of complete trials wins, then the largest crowding distance in its front, as in
NSGA-II. ``sample_independent`` answers each parameter from the parent, re-sampling the chosen
one to a different value. Parameters the parent never had (the mutation changed the space, e.g. a
stage's block became inverted and now has an expansion ratio), or whose value no longer fits the
distribution asked for, are sampled at random. Enqueued trials are left to their fixed values.

A niche (``niche: {params: 10000}``, ``niche_share: 0.33``) keeps a share of the children for
candidates within bounds the search records before training (parameters, FLOPs): that share's
parents win a tournament in the niche's own aging population (the most recent members within the
bounds), or, while it is empty, are the member nearest the bounds, whose child then takes a smaller
value of one numeric parameter (a width, a depth, a kernel, a stage count): a walk down towards the
bounds where a mutation to any other value lands inside only by chance. Without it, a study whose final
stage also wants "the best network with at most 10,000 parameters" leaves that network to chance:
small networks learn slower per epoch, so Hyperband stops them first and the tournaments, which
rank by validation, breed away from them (in a 32-candidate MNIST-1D search, none that small).
"""

from __future__ import annotations

import math
import random
import weakref
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

PARENT_KEY = "evolution:parent_params"
MUTATE_KEY = "evolution:mutate"
NICHE_KEY = "evolution:niche"  # set on children bred from the niche
SHRINK_KEY = "evolution:shrink"  # set on niche children whose mutation lowers a number (niche empty)
NICHE_FIGURES = ("params", "flops")  # what the search records of a candidate before training it

# (parent params, name of the parameter to mutate, whether the mutation must lower its value)
Plan = tuple[dict[str, Any] | None, str | None, bool]


class RegularizedEvolutionSampler(BaseSampler):
    """Aging evolution: tournament selection, one mutation per child, random start-up trials."""

    def __init__(
        self,
        *,
        population_size: int = 20,
        sample_size: int = 5,
        seed: int | None = None,
        niche: dict[str, float] | None = None,
        niche_share: float = 0.0,
    ) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"sample_size must lie in [1, population_size], got {sample_size}")
        if not 0.0 <= niche_share < 1.0:
            raise ValueError(f"niche_share must lie in [0, 1), got {niche_share}")
        for key, bound in (niche or {}).items():
            if key not in NICHE_FIGURES:
                raise ValueError(f"niche: unknown figure {key!r}; choose from {', '.join(NICHE_FIGURES)}")
            if not bound > 0:
                raise ValueError(f"niche: the bound on {key} must be positive, got {bound}")
        if bool(niche) != (niche_share > 0):
            raise ValueError(
                "niche and niche_share go together: a bound such as {params: 10000} and the share of children it breeds"
            )
        self.population_size, self.sample_size = population_size, sample_size
        self.niche, self.niche_share = dict(niche or {}), niche_share
        self.seed = _fresh_seed() if seed is None else seed
        self._plans = _new_plan_cache()

    # A cache is not state: storage stays the record, and a copy or a pickle starts without it.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_plans"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _plans=_new_plan_cache())

    def reseed_rng(self) -> None:
        self.seed = _fresh_seed()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def _rng(self, trial: FrozenTrial, salt: str) -> random.Random:
        # Derived from (seed, trial number, salt): reproducible without state in self. A str seed
        # is hashed with SHA-512, so the stream is the same in every process.
        return random.Random(f"{self.seed}:{trial.number}:{salt}")

    def niche_population(self, members: list[FrozenTrial]) -> list[FrozenTrial]:
        """The niche's own aging population: the ``population_size`` most recent of ``members``
        (``_members``' list) within every bound of ``niche``, oldest first (none without a niche)."""
        inside = [t for t in members if self.niche and _within(t, self.niche)]
        return inside[-self.population_size :]

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if "fixed_params" in trial.system_attrs:  # enqueued (e.g. re-queued after a crash): keep it as is
            return
        members = _members(study)
        pop = members[-self.population_size :]  # the aging population: the most recent, oldest first
        if len(pop) < self.population_size:
            return
        rng = self._rng(trial, "tournament")
        bred_in_niche = bool(self.niche) and rng.random() < self.niche_share
        inside = self.niche_population(members) if bred_in_niche else []
        shrink = bred_in_niche and not inside
        if shrink:  # the niche is empty: walk down from the member nearest its bounds
            parent = min(pop, key=lambda t: (_excess(t, self.niche), t.number))
        elif bred_in_niche:
            parent = _tournament(inside, min(self.sample_size, len(inside)), study.directions, rng)
        else:
            parent = _tournament(pop, self.sample_size, study.directions, rng)
        mutable = sorted(name for name, d in parent.distributions.items() if _n_values(d) > 1)
        smaller = [n for n in mutable if shrink and _lowerable(parent.distributions[n], parent.params[n])]
        shrink = bool(smaller)  # nothing numeric left to lower: an ordinary mutation
        mutate = rng.choice(smaller or mutable) if mutable else None
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, PARENT_KEY, dict(parent.params))
        if bred_in_niche:
            storage.set_trial_system_attr(trial._trial_id, NICHE_KEY, True)
        if shrink:
            storage.set_trial_system_attr(trial._trial_id, SHRINK_KEY, True)
        if mutate is not None:
            storage.set_trial_system_attr(trial._trial_id, MUTATE_KEY, mutate)
        self._plans.setdefault(storage, {})[trial._trial_id] = (dict(parent.params), mutate, shrink)

    def _plan(self, study: optuna.Study, trial: FrozenTrial) -> Plan:
        # Saves a storage read per parameter; a trial planned by another process (or a copy of
        # this sampler) is read from its system attributes.
        plans = self._plans.setdefault(study._storage, {})
        if trial._trial_id not in plans:
            attrs = trial.system_attrs
            plans[trial._trial_id] = (attrs.get(PARENT_KEY), attrs.get(MUTATE_KEY), bool(attrs.get(SHRINK_KEY)))
        return plans[trial._trial_id]

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        rng = self._rng(trial, param_name)
        parent, mutate, shrink = self._plan(study, trial)
        if parent is None or param_name not in parent:
            return _any_value(param_distribution, rng)
        fits, value = _fit(param_distribution, parent[param_name])
        if not fits:  # the distribution changed since the parent (e.g. a narrower range)
            return _any_value(param_distribution, rng)
        if mutate == param_name:
            if shrink and _lowerable(param_distribution, value):
                return _smaller_value(param_distribution, value, rng)
            return _other_value(param_distribution, value, rng)
        return value

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._plans.get(study._storage, {}).pop(trial._trial_id, None)


def _fresh_seed() -> int:
    return random.SystemRandom().randrange(2**32)


def _new_plan_cache() -> weakref.WeakKeyDictionary[Any, dict[int, Plan]]:
    # Keyed by the storage object itself: trial ids repeat across in-memory storages, and an id()
    # is reused once a storage is freed; a weak key dies with its storage.
    return weakref.WeakKeyDictionary()


# --- selection ---------------------------------------------------------------------------------


def _members(study: optuna.Study) -> list[FrozenTrial]:
    """Every feasible trial with a value (complete, or pruned with one objective), oldest first."""
    n_objectives = len(study.directions)
    states = (TrialState.COMPLETE, TrialState.PRUNED) if n_objectives == 1 else (TrialState.COMPLETE,)
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=states)
        if t.values is not None
        and len(t.values) == n_objectives
        and not any(math.isnan(v) for v in t.values)
        and max(_constraint_values(t), default=0.0) <= 0
    ]
    return sorted(done, key=lambda t: t.number)


def _tournament(
    pool: list[FrozenTrial], size: int, directions: Sequence[StudyDirection], rng: random.Random
) -> FrozenTrial:
    candidates = rng.sample(pool, size)
    fitness = _fitness(pool, directions)
    return min(candidates, key=lambda t: fitness[t.number])  # ties: the first drawn


def _within(t: FrozenTrial, bounds: dict[str, float]) -> bool:
    return _excess(t, bounds) <= 1.0


def _excess(t: FrozenTrial, bounds: dict[str, float]) -> float:
    """How far ``t`` is from ``bounds``: the largest ratio of its figure (a user attribute the
    search records, e.g. ``params``) to the bound; infinite when it has no such figure."""
    ratios = [
        float(v) / bound if isinstance(v := t.user_attrs.get(key), int | float) else math.inf
        for key, bound in bounds.items()
    ]
    return max(ratios, default=math.inf)


def _fitness(pop: list[FrozenTrial], directions: Sequence[StudyDirection]) -> dict[int, tuple[float, ...]]:
    """Trial number -> a key whose minimum wins a tournament.

    One objective: complete trials before pruned ones, pruned ones by the step they reached (later
    first), then the loss (the value, negated when maximising), as Optuna's TPE orders them.
    Several: (non-domination rank in ``pop``, minus the crowding distance within that rank's
    front), as NSGA-II compares.
    """
    signs = [-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in directions]
    losses = [tuple(s * v for s, v in zip(signs, t.values, strict=True)) for t in pop]
    if len(directions) == 1:
        return {t.number: (*_reach(t), *loss) for t, loss in zip(pop, losses, strict=True)}
    ranks = _nondomination_ranks(losses)
    crowding = [0.0] * len(pop)
    for rank in set(ranks):
        front = [i for i, r in enumerate(ranks) if r == rank]
        for i, distance in zip(front, _crowding_distances([losses[i] for i in front]), strict=True):
            crowding[i] = distance
    return {t.number: (float(ranks[i]), -crowding[i]) for i, t in enumerate(pop)}


def _reach(t: FrozenTrial) -> tuple[float, float]:
    """How far a trial got, smaller first: (0, 0) complete, (1, -last step) pruned."""
    if t.state == TrialState.COMPLETE:
        return (0.0, 0.0)
    return (1.0, -float(t.last_step if t.last_step is not None else 0))


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def _nondomination_ranks(losses: list[tuple[float, ...]]) -> list[int]:
    """Rank 0 for the Pareto front, 1 for the front once rank 0 is removed, and so on."""
    n = len(losses)
    beaten_by = [0] * n  # how many points dominate i
    beats: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if _dominates(losses[i], losses[j]):
                beats[i].append(j)
                beaten_by[j] += 1
            elif _dominates(losses[j], losses[i]):
                beats[j].append(i)
                beaten_by[i] += 1
    ranks = [0] * n
    front, rank = [i for i in range(n) if beaten_by[i] == 0], 0
    while front:
        following = []
        for i in front:
            ranks[i] = rank
            for j in beats[i]:
                beaten_by[j] -= 1
                if beaten_by[j] == 0:
                    following.append(j)
        front, rank = following, rank + 1
    return ranks


def _crowding_distances(front: list[tuple[float, ...]]) -> list[float]:
    """NSGA-II's crowding distance: extremes are infinitely far, others by their neighbours' gap."""
    distance = [0.0] * len(front)
    for m in range(len(front[0]) if front else 0):
        order = sorted(range(len(front)), key=lambda i: front[i][m])
        span = front[order[-1]][m] - front[order[0]][m]
        if span == 0 or not math.isfinite(span):
            continue  # every point alike in this objective (or unbounded): it ranks no one
        distance[order[0]] = distance[order[-1]] = math.inf
        for k in range(1, len(order) - 1):
            distance[order[k]] += (front[order[k + 1]][m] - front[order[k - 1]][m]) / span
    return distance


# --- values ------------------------------------------------------------------------------------


def _n_values(d: BaseDistribution) -> float:
    """How many values ``d`` holds (inf when continuous)."""
    if d.single():
        return 1
    if isinstance(d, CategoricalDistribution):
        return len(d.choices)
    if isinstance(d, IntDistribution):
        return (d.high - d.low) // d.step + 1
    assert isinstance(d, FloatDistribution), f"unsupported distribution {d!r}"
    if d.step is None:
        return math.inf
    return int((_dec(d.high) - _dec(d.low)) / _dec(d.step)) + 1


def _on_grid(d: BaseDistribution) -> bool:
    """Whether ``d``'s values are drawn uniformly from a finite list (by index)."""
    if isinstance(d, FloatDistribution):
        return d.step is not None
    return not (isinstance(d, IntDistribution) and d.log)


def _grid_value(d: BaseDistribution, k: int) -> Any:
    """The ``k``-th value of a grid distribution."""
    if isinstance(d, CategoricalDistribution):
        return d.choices[k]
    if isinstance(d, IntDistribution):
        return d.low + d.step * k
    assert isinstance(d, FloatDistribution) and d.step is not None
    # Decimal arithmetic: low + k * step without float error (-10.2 + 204 * 0.1 is 10.2, not
    # 10.200000000000003); the clip guards the range whatever the distribution's bounds.
    return _clip(float(_dec(d.low) + _dec(d.step) * k), d)


def _grid_index(d: BaseDistribution, value: Any) -> int:
    if isinstance(d, CategoricalDistribution):
        return int(d.to_internal_repr(value))
    assert isinstance(d, (IntDistribution, FloatDistribution)) and d.step is not None
    return round((value - d.low) / d.step)


def _any_value(d: BaseDistribution, rng: random.Random) -> Any:
    """A random value of ``d``: uniform, or log-uniform for log distributions."""
    if _on_grid(d):
        return _grid_value(d, rng.randrange(int(_n_values(d))))
    assert isinstance(d, (IntDistribution, FloatDistribution)), f"unsupported distribution {d!r}"
    if isinstance(d, IntDistribution):  # log scale: each integer owns [v - 0.5, v + 0.5]
        v = math.exp(rng.uniform(math.log(d.low - 0.5), math.log(d.high + 0.5)))
        return int(_clip(round(v), d))
    if d.log:
        return _clip(math.exp(rng.uniform(math.log(d.low), math.log(d.high))), d)
    return _clip(rng.uniform(d.low, d.high), d)


def _other_value(d: BaseDistribution, current: Any, rng: random.Random) -> Any:
    """A random value of ``d`` different from ``current`` (a value of ``d``) when there is one."""
    n = _n_values(d)
    if n <= 1:
        return current
    if _on_grid(d):
        k = rng.randrange(int(n) - 1)  # uniform over the others: skip the current index
        return _grid_value(d, k + (k >= _grid_index(d, current)))
    for _ in range(100):  # continuous or log-int: redraw by the distribution's own law
        v = _any_value(d, rng)
        if v != current:
            return v
    assert isinstance(d, (IntDistribution, FloatDistribution))
    return d.high if current == d.low else d.low


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _lowerable(d: BaseDistribution, current: Any) -> bool:
    """Whether ``d`` holds numbers on a grid (categorical choices that are all numbers, e.g. widths;
    stepped ints and floats) with one below ``current``. A mutation towards the niche's bounds
    lowers a count; "smaller" means nothing for a block type."""
    if not _on_grid(d) or not _number(current):
        return False
    if isinstance(d, CategoricalDistribution):
        return all(_number(c) for c in d.choices) and any(c < current for c in d.choices)
    return _grid_index(d, current) > 0  # the grid ascends from low


def _smaller_value(d: BaseDistribution, current: Any, rng: random.Random) -> Any:
    """A random value of ``d`` below ``current`` (``_lowerable(d, current)`` holds)."""
    if isinstance(d, CategoricalDistribution):
        return rng.choice([c for c in d.choices if c < current])
    return _grid_value(d, rng.randrange(_grid_index(d, current)))


def _fit(d: BaseDistribution, value: Any) -> tuple[bool, Any]:
    """Whether a parent's ``value`` is a value of ``d``, and that value in ``d``'s own type."""
    try:
        internal = d.to_internal_repr(value)
    except (ValueError, TypeError):
        return False, None
    if not d._contains(internal):
        return False, None
    return True, d.to_external_repr(internal)


def _clip(v: float, d: IntDistribution | FloatDistribution) -> float:
    return min(max(v, d.low), d.high)


def _dec(x: float) -> Decimal:
    return Decimal(repr(x))


def _constraint_values(t: FrozenTrial) -> list[float]:
    c = t.constraints
    return list(c.values()) if isinstance(c, dict) else list(c or [])
