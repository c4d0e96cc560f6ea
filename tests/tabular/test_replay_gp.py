"""The replay's GP: the same posterior as Optuna's, exact grid acquisition, periodic refits, workers."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch
from optuna._gp import gp as optuna_gp
from optuna._gp import prior as optuna_prior

from nasbench.errors import ConfigError
from nasbench.search.samplers import TrainedStartup
from nasbench.tabular.replay import Budget, ReplayRun, _quiet_optuna, _search, replay, replay_all, replay_sampler
from nasbench.tabular.replay_gp import ReplayGPSampler, grid_posterior
from nasbench.tabular.table import load_benchmark


def test_grid_posterior_equals_optunas_gp_with_repeated_points() -> None:
    # Held hyperparameters: the replay conditions on every trial without refitting. Repeated
    # points collapse to their mean with noise / count; the posterior must equal Optuna's own.
    rng = np.random.default_rng(0)
    grid = np.array([[a, b, c] for a in (0.0, 1.0) for b in (0.0, 1.0) for c in (0.25, 0.75)])
    is_categorical = np.array([True, True, False])
    at = rng.integers(0, len(grid), size=30)  # with repeats, as a replay asks
    y = rng.normal(size=30)
    fitted = optuna_gp.fit_kernel_params(
        X=grid[at], Y=y, is_categorical=is_categorical, log_prior=optuna_prior.default_log_prior,
        minimum_noise=optuna_prior.DEFAULT_MINIMUM_NOISE_VAR, deterministic_objective=False,
    )
    mean, var = grid_posterior(fitted, grid, is_categorical, at, y)
    with torch.no_grad():
        ref_mean, ref_var = fitted.posterior(torch.from_numpy(grid))
    np.testing.assert_allclose(mean, ref_mean.numpy(), atol=1e-8)
    np.testing.assert_allclose(var, ref_var.numpy(), atol=1e-8)


def test_replay_gp_refits_as_trials_grow_and_still_finds_good_architectures() -> None:
    bench = load_benchmark("mnist1d_tiny")
    sampler = replay_sampler("gp", 0, {}, bench)
    assert isinstance(sampler, TrainedStartup) and isinstance(sampler.model, ReplayGPSampler)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run = replay(bench, "gp", 0, Budget(trials=60))
    # The model proposes from 5 completed trials on (55 proposals); it refits once they grew by
    # 10% (at least 1): on 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 21, 24, 27, 30, 33, 37, 41, 46, 51, 57.
    col = bench.column(None)
    probe = ReplayRun(bench.name, "gp", 0, run.oracle_test_acc)
    with _quiet_optuna():
        _search(bench, study, probe, Budget(trials=60), False, bench.val_acc[:, col], bench.test_acc[:, col],
                bench.train_time_s[:, col])
    assert probe.entry == run.entry  # deterministic per seed
    assert sampler.model.fits == 21
    assert run.regret[-1] <= np.median(run.oracle_test_acc - bench.test_acc[:, col])


def test_live_settings_are_optunas_gp_sampler() -> None:
    bench = load_benchmark("mnist1d_tiny")
    live = replay_sampler("gp", 0, {"refit_every": 1, "grid": False}, bench)
    assert isinstance(live, TrainedStartup) and type(live.model) is optuna.samplers.GPSampler


def test_exact_grid_acquisition_chooses_what_optunas_optimiser_chooses() -> None:
    # Refitting every trial, the only difference left is where the acquisition is maximised:
    # exactly over the 32 grid points, or by Optuna's local search. They agree here.
    bench = load_benchmark("mnist1d_tiny")
    grid = replay(bench, "gp", 1, Budget(trials=25), {"refit_every": 1})
    live = replay(bench, "gp", 1, Budget(trials=25), {"refit_every": 1, "grid": False})
    assert grid.entry == live.entry


@pytest.mark.parametrize("options", [{"refit_every": 0}, {"refit_growth": -1}, {"refit_evry": 5}])
def test_bad_gp_options_are_one_clear_error(options: dict) -> None:
    with pytest.raises(ConfigError, match="--options gp") as e:
        replay_sampler("gp", 0, options, load_benchmark("mnist1d_tiny"))
    assert "\n" not in str(e.value)


@pytest.mark.slow  # two worker processes, each importing torch
def test_workers_give_the_same_runs_as_one_process() -> None:
    bench = load_benchmark("mnist1d_tiny")
    args = ([bench], ["random", "evolution"], 2, Budget(trials=15))
    one, two = replay_all(*args), replay_all(*args, workers=2)
    assert [(r.sampler, r.seed, r.entry) for r in one] == [(r.sampler, r.seed, r.entry) for r in two]
    with pytest.raises(ConfigError, match="--workers"):
        replay_all(*args, workers=0)
