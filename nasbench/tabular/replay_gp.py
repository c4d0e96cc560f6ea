"""The GP sampler of a replay: Optuna's ``GPSampler`` with documented replay settings.

A live search asks Optuna's GP for one trial every few minutes, so its ~0.1-0.3 s per trial does
not matter; a replay asks it 20 seeds x 200 times in a row, and there it dominated (about 30 s
per seed on this machine, more than the four other samplers' 20 seeds together). Profiling one seed showed where:
two thirds in maximising the acquisition (2048 quasi-random points, then ten local searches),
one third in refitting the kernel hyperparameters of two GPs (objective and the feasibility
constraint) by L-BFGS, every trial. ``ReplayGPSampler`` keeps the model, prior, acquisition
(log EI, or log constrained EI) and start-up trials of Optuna's sampler, and changes this:

- ``grid`` (default on): when every parameter the GP models is discrete and their product has at
  most ``max_grid`` points, the acquisition is evaluated on every point and the best is taken:
  the exact maximiser over the finite space, where Optuna's optimiser approximates it by local
  search from sampled starts. A space with a continuous parameter, or a larger product, uses
  Optuna's optimiser as a live search does.
- ``refit_growth`` (default 0.1) and ``refit_every`` (default 20): the kernel hyperparameters
  (length scales, signal and noise variance) are refitted once the completed trials have grown by
  10% since the last fit (every trial up to 10 trials, every 2 up to 20, ...), and at least every
  20 trials (warm-started, as Optuna warm-starts every fit): 33 fits in 200 trials instead of
  195. In between the GP keeps them but is conditioned on every completed trial, so each proposal
  still sees every result. (A fixed every-20 schedule held the poor early fits too long: mean
  final regret 0.0086 over 20 seeds against 0.0072 for Optuna's own; with the growth rule 0.0067.)

While every trial is feasible (the replay tells a feasible trial constraint 0, as the search
runner does), Optuna would fit a constraint GP to zeros whose log P(feasible) is log(1/2) at every
point; the replay skips that fit, which cannot change a choice (same choices, checked over 20 seeds).

``refit_every=1, grid=False`` is exactly Optuna's ``GPSampler`` (nothing is overridden then);
with ``refit_every=1`` alone the grid search chose the same architecture as Optuna's optimiser
in every one of 10 seeds x 200 trials on ``mnist1d_tiny``.
Only the refit schedule can change a choice. Conditioning with held hyperparameters covers the
replay's case (one objective, no running trials, a grid); anything else refits, as Optuna does.
The sampler relies on ``GPSampler``'s internal methods (``_optimize_acqf``, which Optuna's source
names as the place to override, and the acquisition and constraint helpers);
``check_replay_gp`` refuses an Optuna without them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import optuna
import scipy.linalg
import torch
from optuna._gp import acqf as optuna_acqf
from optuna._gp import gp as optuna_gp
from optuna._gp import search_space as gp_search_space
from optuna.distributions import BaseDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial

from nasbench.errors import ConfigError

_HOOKS = (
    "_sample_relative_impl",
    "_get_constraints_acqf_args",
    "_optimize_acqf",
    "_gprs_cache_list",
    "_constraints_gprs_cache_list",
)
REFIT_EVERY = 20  # at most this many trials between hyperparameter fits
REFIT_GROWTH = 0.1  # and sooner: once the trials have grown by this fraction (33 fits in 200 trials)
REPLAY_GP_OPTIONS = ("refit_every", "refit_growth", "grid", "max_grid")  # beyond the live GP's options
EPS = 1e-10  # as Optuna's GP sampler: the floor of a standard deviation when standardising
STABILIZING_NOISE = 1e-12  # as Optuna's acquisition functions: added to the posterior variance


def check_replay_gp() -> None:
    """Raise ConfigError unless this Optuna's GPSampler has the methods the replay settings use."""
    probe = optuna.samplers.GPSampler(seed=0)
    missing = [h for h in _HOOKS if not hasattr(probe, h)]
    if missing:
        raise ConfigError(
            f"the replay GP settings need Optuna >= 5.1 (this is {optuna.__version__}, without "
            f'{", ".join(missing)}); replay with --options \'{{"gp": {{"refit_every": 1, "grid": false}}}}\'.'
        )


def _standardize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    means, stds = values.mean(axis=0), values.std(axis=0)
    return (values - means) / np.maximum(EPS, stds), means, stds


class ReplayGPSampler(optuna.samplers.GPSampler):
    """Optuna's GP sampler with exact acquisition over a finite grid and periodic refits (see module)."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 5,
        refit_every: int = REFIT_EVERY,
        refit_growth: float = REFIT_GROWTH,
        grid: bool = True,
        max_grid: int = 4096,
    ) -> None:
        if refit_every < 1:
            raise ValueError(f"refit_every must be at least 1, got {refit_every}")
        if refit_growth < 0:
            raise ValueError(f"refit_growth must be at least 0, got {refit_growth}")
        if max_grid < 1:
            raise ValueError(f"max_grid must be at least 1, got {max_grid}")
        super().__init__(seed=seed, n_startup_trials=n_startup_trials)
        self.refit_every, self.refit_growth = refit_every, refit_growth
        self.grid, self.max_grid = grid, max_grid
        self.fits = 0  # proposals that refitted the hyperparameters (Optuna's own path)
        self._fitted_at = -1  # completed trials at the last fit
        self._grid_key: str | None = None  # the modelled space the cached grid and rows belong to
        self._held_grid: np.ndarray | None = None
        self._grid_index: dict[tuple[float, ...], int] = {}
        self._trial_rows: dict[int, tuple[int, float, tuple[float, ...]]] = {}

    def _sample_relative_impl(
        self,
        study: Study,
        completed_trials: list[FrozenTrial],
        running_trials: list[FrozenTrial],
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        space = gp_search_space.SearchSpace(search_space)
        if not self._refit_due(len(completed_trials), running_trials, space, study):
            held = self._sample_held(study, completed_trials, space)
            if held is not None:
                return held
        self._fitted_at, self.fits = len(completed_trials), self.fits + 1
        return super()._sample_relative_impl(study, completed_trials, running_trials, search_space)

    def _refit_due(self, n_completed: int, running: list[FrozenTrial], space: Any, study: Study) -> bool:
        cached = self._gprs_cache_list
        return (
            cached is None
            or len(cached[0].inverse_squared_lengthscales) != space.dim  # the modelled space changed
            or n_completed - self._fitted_at >= self.refit_interval(self._fitted_at)
            or bool(running)
            or len(study.directions) > 1
        )

    def _get_constraints_acqf_args(
        self, constraint_vals: np.ndarray, internal_search_space: Any, normalized_params: np.ndarray
    ) -> tuple[list[Any], list[float]]:
        # Every trial feasible so far (the replay sets 0 for a feasible one): Optuna's constraint GPs
        # would be fitted to zeros, and their log P(feasible) is log(1/2) at every point (posterior
        # mean 0 = threshold), so the choice cannot depend on them. Skip the fits (half the fitting).
        if not np.all(constraint_vals == 0):
            return super()._get_constraints_acqf_args(constraint_vals, internal_search_space, normalized_params)
        unfitted = [_zero_gp(normalized_params, internal_search_space.is_categorical) for _ in constraint_vals.T]
        self._constraints_gprs_cache_list = unfitted
        return unfitted, [0.0] * len(unfitted)

    def refit_interval(self, fitted_at: int) -> int:
        """Trials to wait after a fit on ``fitted_at`` trials: ``refit_growth`` of them (at least 1),
        at most ``refit_every``. Early fits, on few trials, change most as trials arrive."""
        return max(1, min(self.refit_every, math.ceil(fitted_at * self.refit_growth)))

    def _sample_held(self, study: Study, completed: list[FrozenTrial], space: Any) -> dict[str, Any] | None:
        """The grid point of best log (constrained) EI under the last fit's hyperparameters, the GP
        conditioned on every completed trial; None without a grid (the caller then refits)."""
        grid = self._cached_grid(space)
        if grid is None:
            return None
        assert self._gprs_cache_list is not None
        rows = [self._row(t, space) for t in completed]
        at = np.array([r[0] for r in rows])
        sign = -1.0 if study.direction == StudyDirection.MINIMIZE else 1.0
        Y, _, _ = _standardize(sign * np.array([r[1] for r in rows]))
        feasible = np.ones(len(completed), dtype=bool)
        acq = np.zeros(len(grid))
        if rows[0][2]:  # constrained, as Optuna: + log P(feasible) per constraint
            constraints = np.array([r[2] for r in rows])
            feasible = np.all(constraints <= 0, axis=1)
            cached = self._constraints_gprs_cache_list
            if cached is None or len(cached) != constraints.shape[1]:
                return None
            vals, means, stds = _standardize(-constraints)  # constraints are minimised: model -c
            for g, v, threshold in zip(cached, vals.T, -means / np.maximum(EPS, stds)):
                if np.all(v == v[0]):  # a constant constraint adds the same log P(feasible) everywhere
                    continue
                mean, var = grid_posterior(g, grid, space.is_categorical, at, v)
                z = torch.from_numpy((mean - threshold) / np.sqrt(var + STABILIZING_NOISE))
                acq += torch.special.log_ndtr(z).numpy()
        if feasible.any():  # no feasible trial yet: the EI term is zero, as in Optuna's LogEI
            mean, var = grid_posterior(self._gprs_cache_list[0], grid, space.is_categorical, at, Y)
            f0 = float(Y[feasible].max())
            acq += optuna_acqf.logei(torch.from_numpy(mean), torch.from_numpy(var + STABILIZING_NOISE), f0).numpy()
        return space.get_unnormalized_param(grid[self._argmax(acq)])

    def _cached_grid(self, space: Any) -> np.ndarray | None:
        """The grid of ``space`` (None: no grid), kept with each trial's row while the space holds."""
        key = repr(space._optuna_search_space)
        if key != self._grid_key:
            self._grid_key, self._trial_rows = key, {}
            self._held_grid = self._grid(space) if self.grid else None
            grid = self._held_grid
            self._grid_index = {} if grid is None else {tuple(p): i for i, p in enumerate(np.round(grid, 9))}
        return self._held_grid

    def _row(self, trial: FrozenTrial, space: Any) -> tuple[int, float, tuple[float, ...]]:
        """A completed trial's grid row, value and constraints (sorted by name), read once."""
        row = self._trial_rows.get(trial.number)
        if row is None:
            x = np.round(space.get_normalized_params([trial])[0], 9)
            c = trial.constraints
            row = (self._grid_index[tuple(x)], float(trial.value), tuple(float(c[k]) for k in sorted(c)))  # type: ignore[arg-type]
            self._trial_rows[trial.number] = row
        return row

    def _optimize_acqf(self, acqf: Any, best_params: np.ndarray | None) -> np.ndarray:
        candidates = self._grid(acqf.search_space) if self.grid else None
        if candidates is None:
            return super()._optimize_acqf(acqf, best_params)
        return candidates[self._argmax(acqf.eval_acqf_no_grad(candidates))]

    def _argmax(self, values: np.ndarray) -> int:
        """The index of the largest value; ties broken by the sampler's seeded generator."""
        top = np.flatnonzero(values == values.max())
        return int(top[0] if len(top) == 1 else self._rng.rng.choice(top))

    def _grid(self, space: Any) -> np.ndarray | None:
        """Every point of a discrete space (normalised), or None if continuous or too large."""
        if len(space.continuous_indices):
            return None
        choices = space.get_choices_of_discrete_params()  # in the order of space.discrete_indices
        if float(np.prod([len(c) for c in choices], dtype=float)) > self.max_grid:
            return None
        points = np.array(list(itertools.product(*choices)), dtype=float)
        grid = np.empty((len(points), space.dim), dtype=float)
        grid[:, space.discrete_indices] = points
        return grid


def _zero_gp(X: np.ndarray, is_categorical: np.ndarray) -> Any:
    """A GP on all-zero observations with Optuna's default initial hyperparameters (its posterior
    mean is 0 everywhere, whatever they are)."""
    ones = torch.ones(X.shape[1] + 2, dtype=torch.float64)
    gpr = optuna_gp.GPRegressor(
        is_categorical=torch.from_numpy(is_categorical),
        X_train=torch.from_numpy(X),
        y_train=torch.zeros(len(X), dtype=torch.float64),
        inverse_squared_lengthscales=ones[:-2],
        kernel_scale=ones[-2],
        noise_var=ones[-1],
    )
    gpr._cache_matrix()
    return gpr


def grid_posterior(
    fitted: Any, grid: np.ndarray, is_categorical: np.ndarray, at: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance on every grid point of the GP with ``fitted``'s hyperparameters
    (an Optuna ``GPRegressor``) given observations ``y`` at grid rows ``at``: Optuna's Matern-5/2
    ARD kernel (Hamming distance on categorical dimensions) with Gaussian noise. Repeated points
    are collapsed to their mean with noise / count, which leaves the posterior unchanged."""
    inv_sq_ls = fitted.inverse_squared_lengthscales.detach().numpy()
    scale, noise = float(fitted.kernel_scale), float(fitted.noise_var)
    sqd = np.square(grid[:, None, :] - grid[None, :, :])
    sqd[..., is_categorical] = sqd[..., is_categorical] > 0
    d2 = sqd @ inv_sq_ls
    root5d = np.sqrt(5 * d2)
    K = scale * np.exp(-root5d) * (5 / 3 * d2 + root5d + 1)
    points, inverse, counts = np.unique(at, return_inverse=True, return_counts=True)
    ybar = np.bincount(inverse, weights=y) / counts
    chol = scipy.linalg.cho_factor(K[np.ix_(points, points)] + np.diag(noise / counts), lower=True)
    k_gp = K[:, points]
    mean = k_gp @ scipy.linalg.cho_solve(chol, ybar)
    var = scale - np.einsum("gp,pg->g", k_gp, scipy.linalg.cho_solve(chol, k_gp.T))
    return mean, np.maximum(var, 0.0)
