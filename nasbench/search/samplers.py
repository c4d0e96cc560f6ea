"""Optuna samplers by name. Every sampler is an ``optuna.samplers.BaseSampler``."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna

from nasbench.core.registry import Registry
from nasbench.errors import ConfigError
from nasbench.space.sample import encoding, parameter_choices
from nasbench.space.spec import SpaceSpec

SamplerFactory = Callable[..., optuna.samplers.BaseSampler]
_SAMPLERS: Registry[SamplerFactory] = Registry("sampler")

CONSTRAINT_KEY = "feasible"  # Optuna constraint: > 0 means the trial was infeasible
CONSTRAINTS_ATTR = "constraints"  # Optuna's list form of a trial's constraints (see searcher.set_feasibility)


def register_sampler(name: str) -> Callable[[SamplerFactory], SamplerFactory]:
    """Decorator registering a sampler factory under ``name``; a taken name raises ValueError."""
    return _SAMPLERS.register(name)


def sampler_names() -> list[str]:
    return _SAMPLERS.names()


def create_sampler(
    name: str, seed: int, options: dict[str, Any], space: SpaceSpec, n_objectives: int = 1
) -> optuna.samplers.BaseSampler:
    """The sampler ``name`` with ``options``; errors name the bad value."""
    factory = _SAMPLERS.get(name, field="sampler.name")
    try:
        return factory(seed=seed, space=space, n_objectives=n_objectives, **options)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:  # an unknown option, or a value the sampler refuses
        raise ConfigError(f"field 'sampler.options': {e}.") from e


@register_sampler("random")
def _random(seed: int, space: SpaceSpec, n_objectives: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def trained(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a finished trial was evaluated: complete or pruned, and not refused as infeasible."""
    finished = trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return finished and all(v <= 0 for v in trial.constraints.values())


class TrainedStartup(optuna.samplers.BaseSampler):
    """Sample at random until ``n_startup_trials`` candidates have been *trained*, then let ``model``
    (a model-based sampler built without a start-up of its own) propose.

    Optuna's TPE and GP count every complete or pruned trial towards their start-up. A candidate
    refused before training (over the FLOPs constraint) is told at once, with the worst value, while
    a trained one takes a minute; so the start-up filled with refusals, and the model began from the
    one or two small networks trained by then. At Fashion-MNIST seed 2 four of the first five trials
    told were refusals, and TPE then trained mostly 12-43K networks for the rest of its 20 minutes
    (README, Results). Refusals still reach the model afterwards, so it learns where the constraint
    lies.
    """

    def __init__(self, model: optuna.samplers.BaseSampler, n_startup_trials: int, seed: int) -> None:
        self.model = model
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._n_startup_trials = n_startup_trials
        self._startup_over = False  # then the model proposes; set once, as a study never loses a trained trial

    def _starting(self, study: optuna.Study) -> bool:
        # Asked at every sampled parameter; after the start-up it answers without counting trials.
        if not self._startup_over:
            self._startup_over = sum(trained(t) for t in study.get_trials(deepcopy=False)) >= self._n_startup_trials
        return not self._startup_over

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        return self.model.infer_relative_search_space(study, trial)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, optuna.distributions.BaseDistribution],
    ) -> dict[str, Any]:
        return {} if self._starting(study) else self.model.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: optuna.distributions.BaseDistribution,
    ) -> Any:
        sampler = self._random if self._starting(study) else self.model
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.model.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.model.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._random.reseed_rng()
        self.model.reseed_rng()


@register_sampler("tpe")
def _tpe(
    seed: int, space: SpaceSpec, n_objectives: int, n_startup_trials: int = 5, multivariate: bool = True
) -> optuna.samplers.BaseSampler:
    # multivariate + group handle the conditional (define-by-run) space jointly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        tpe = optuna.samplers.TPESampler(seed=seed, n_startup_trials=0, multivariate=multivariate, group=multivariate)
    return TrainedStartup(tpe, n_startup_trials, seed)


@register_sampler("gp")
def _gp(seed: int, space: SpaceSpec, n_objectives: int, n_startup_trials: int = 5) -> optuna.samplers.BaseSampler:
    return TrainedStartup(optuna.samplers.GPSampler(seed=seed, n_startup_trials=0), n_startup_trials, seed)


@register_sampler("cmaes")
def _cmaes(seed: int, space: SpaceSpec, n_objectives: int, n_startup_trials: int = 1) -> optuna.samplers.BaseSampler:
    categorical = categorical_parameters(space)
    if categorical:
        name, values = next(iter(categorical.items()))
        raise ConfigError(
            f"sampler cmaes needs a space of evenly spaced numbers, but parameter '{name}' is a choice "
            f"among categories {', '.join(map(str, values))}; fix it to one value, space its numbers "
            "evenly, or use tpe, gp, random, nsga2 or evolution."
        )
    if n_objectives > 1:
        raise ConfigError("sampler cmaes is single-objective; use nsga2 for several objectives.")
    if importlib.util.find_spec("cmaes") is None:
        raise ConfigError("sampler cmaes needs the Python package cmaes (pip install cmaes).")
    return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=n_startup_trials, warn_independent_sampling=False)


@register_sampler("nsga2")
def _nsga2(seed: int, space: SpaceSpec, n_objectives: int, population_size: int = 20) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=population_size)


@register_sampler("evolution")
def _evolution(
    seed: int,
    space: SpaceSpec,
    n_objectives: int,
    population_size: int = 20,
    sample_size: int = 5,
    niche: dict[str, float] | None = None,
    niche_share: float = 0.0,
) -> optuna.samplers.BaseSampler:
    from nasbench.search.evolution import RegularizedEvolutionSampler

    return RegularizedEvolutionSampler(
        population_size=population_size, sample_size=sample_size, seed=seed, niche=niche, niche_share=niche_share
    )


def categorical_parameters(space: SpaceSpec) -> dict[str, list]:
    """Parameters of ``space`` that Optuna samples as categories (strings, unevenly spaced numbers)."""
    return {name: v for name, v in parameter_choices(space).items() if encoding(v).kind == "categorical"}
