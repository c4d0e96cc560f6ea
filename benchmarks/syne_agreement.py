"""Agreement of the asynchronous replay with Syne Tune's simulator: random search and ASHA, 4 workers.

Both replay the shipped ``mnist1d_tiny`` table against simulated time, over ``--seeds`` seeds:

- ours: ``nasbench.tabular.replay.replay`` with the random sampler and ``Simulation("none" | "asha",
  4)`` (ASHA: Ray Tune's rule, grace period 1 epoch, reduction factor 3, as a live study builds it);
- Syne Tune: its ``Tuner`` with ``n_workers=4``, ``RandomSearch`` or ``ASHA`` (grace period 1,
  reduction factor 3, ``max_t`` 9 epochs), on its simulator backend (``UserBlackboxBackend``,
  ``SimulatorCallback``) over a ``BlackboxTabular`` built from the same table: one row per point of
  the space's flat parameter product (128; a two-stage network's row repeated for each value of the
  unused third-stage parameters, so that uniform sampling of rows is the distribution of Optuna's
  random sampler over the conditional space), per epoch the stored validation error (1 - accuracy)
  and elapsed time (the run's stored setup time, then the stored epoch times, as our replay charges).

Syne Tune's simulator is set to act at once: no start, stop or report delays, a tuner loop every
0.1 s of simulated time, and without adding the real time its tuner loop spends to the simulated
clock (on a shared machine that is noise, and ours charges none).

Compared: mean over seeds of the best validation error seen by each time (random search: of the
trials finished by then; ASHA: of every epoch reported by then), on a grid of 60 points up to
``--seconds``, with Student-t 95% intervals; they agree where the intervals overlap.

Run:  python benchmarks/syne_agreement.py [--seeds 20] [--seconds 60]
Needs syne-tune (scripts/setup.sh --test installs it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import itertools
import logging
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from nasbench.space.sample import parameter_choices, sample_architecture
from nasbench.tabular.analysis import mean_ci
from nasbench.tabular.replay import Budget, replay, results
from nasbench.tabular.schedulers import Simulation, trial_plan
from nasbench.tabular.table import Benchmark, load_benchmark

WORKERS = 4
GRACE_PERIOD, REDUCTION_FACTOR = 1, 3
GRID_POINTS = 60
TUNER_SLEEP_S = 0.1  # Syne Tune's tuner loop, in simulated seconds
METHODS = {"random": "none", "asha": "asha"}  # Syne Tune's scheduler: our Simulation's scheduler


def syne_blackbox(bench: Benchmark) -> Any:
    """The table as a Syne Tune ``BlackboxTabular`` over the space's flat parameter product."""
    import syne_tune.config_space as sp
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular

    choices = parameter_choices(bench.space)
    names = list(choices)
    rows = list(itertools.product(*choices.values()))
    ends, values = trial_plan(bench, len(bench.budgets) - 1, Simulation("asha"))
    epochs = bench.budgets[-1]
    objectives = np.zeros((len(rows), 1, epochs, 2))
    for r, row in enumerate(rows):
        arch = sample_architecture(optuna.trial.FixedTrial(dict(zip(names, row))), bench.space)
        assert bench.infeasibility(arch) is None, "the comparison needs a table without infeasible networks"
        i, exact = bench.lookup(arch)
        assert exact, "the comparison needs a table of the whole space"
        objectives[r, 0, :, 0] = 1.0 - values[i]
        objectives[r, 0, :, 1] = ends[i]
    with warnings.catch_warnings():  # Syne Tune 0.16 calls pandas' set_index(inplace=True), deprecated in pandas 3.1
        warnings.filterwarnings("ignore", message="The inplace keyword")
        return BlackboxTabular(
            hyperparameters=pd.DataFrame(rows, columns=names),
            configuration_space={n: sp.choice(v) for n, v in choices.items()},
            fidelity_space={"epoch": sp.randint(1, epochs)},
            objectives_evaluations=objectives,
            fidelity_values=np.arange(1, epochs + 1),
            objectives_names=["val_error", "elapsed_time"],
        )


def syne_run(blackbox: Any, method: str, seed: int, seconds: float) -> tuple[pd.DataFrame, float]:
    """Syne Tune's results (``time_s``, ``epoch``, ``val_error``) and its wall time in seconds."""
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA, RandomSearch
    from syne_tune.stopping_criterion import StoppingCriterion
    from syne_tune.tuner import Tuner

    class AtOnceBackend(UserBlackboxBackend):
        def _advance_by_outside_time(self) -> None:  # the tuner loop's real time: not simulated time
            pass

    np.random.seed(seed)  # Syne Tune's random configurations come from NumPy's global generator
    space = blackbox.configuration_space
    if method == "asha":
        scheduler: Any = ASHA(
            space,
            metric="val_error",
            time_attr="epoch",
            max_t=int(blackbox.fidelity_values[-1]),
            do_minimize=True,
            random_seed=seed,
            grace_period=GRACE_PERIOD,
            reduction_factor=REDUCTION_FACTOR,
        )
    else:
        scheduler = RandomSearch(space, metrics=["val_error"], do_minimize=True, random_seed=seed)
    backend = AtOnceBackend(
        blackbox=blackbox,
        elapsed_time_attr="elapsed_time",
        simulator_config=SimulatorConfig(0, 0, 0, 0, 0),
        tuner_sleep_time=TUNER_SLEEP_S,
    )
    callback = SimulatorCallback()
    with tempfile.TemporaryDirectory(prefix="syne-agreement-") as folder, _syne_folder(folder):
        t0 = time.perf_counter()
        tuner = Tuner(
            trial_backend=backend,
            scheduler=scheduler,
            stop_criterion=StoppingCriterion(max_wallclock_time=seconds),
            n_workers=WORKERS,
            sleep_time=0,
            callbacks=[callback],
            save_tuner=False,
            results_update_interval=1e9,
            print_update_interval=1e9,
            tuner_name=f"{method}-{seed}",
        )
        with contextlib.redirect_stdout(io.StringIO()):  # its closing summary
            tuner.run()
        wall = time.perf_counter() - t0
    df = callback.dataframe().rename(columns={"st_tuner_time": "time_s"})
    return df[["time_s", "epoch", "val_error"]].sort_values("time_s", ignore_index=True), wall


@contextlib.contextmanager
def _syne_folder(folder: str) -> Iterator[None]:
    """Syne Tune writes its results under $SYNETUNE_FOLDER (default ~/syne-tune): a temporary one."""
    saved = os.environ.get("SYNETUNE_FOLDER")
    os.environ["SYNETUNE_FOLDER"] = folder
    try:
        yield
    finally:
        if saved is None:
            del os.environ["SYNETUNE_FOLDER"]
        else:
            os.environ["SYNETUNE_FOLDER"] = saved


def our_run(
    bench: Benchmark, method: str, seed: int, seconds: float, workers: int = WORKERS
) -> tuple[pd.DataFrame, float]:
    """Our replay's results (``time_s``, ``epoch``, ``val_error``) and its wall time in seconds.

    The budget runs one longest training past ``seconds``, so that every result before
    ``seconds`` is recorded (a trial counts once it ended; the search before then is the same)."""
    sim = Simulation(METHODS[method], workers, GRACE_PERIOD, REDUCTION_FACTOR)
    budget = Budget(seconds=seconds + float(np.nanmax(bench.train_time_s[:, -1])))
    t0 = time.perf_counter()
    run = replay(bench, "random", seed, budget, simulation=sim)
    wall = time.perf_counter() - t0
    df = results(run, bench)
    return df.assign(val_error=1.0 - df["val_acc"])[["time_s", "epoch", "val_error"]], wall


def best_so_far(df: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """The lowest validation error among the results by each time of ``grid`` (NaN before the first)."""
    times, best = df["time_s"].to_numpy(), np.minimum.accumulate(df["val_error"].to_numpy())
    k = np.searchsorted(times, grid, side="right")
    return np.where(k > 0, best[np.maximum(k - 1, 0)] if len(best) else np.nan, np.nan)


@dataclass
class Agreement:
    method: str
    grid: np.ndarray
    ours: np.ndarray  # (3, points): mean, lo, hi
    syne: np.ndarray
    compared: int  # grid points where every run of both has a value
    overlap: int  # of those, where the 95% intervals overlap
    max_diff: float  # largest |difference of means| over the compared points
    max_diff_at: float
    wall_ours: float  # mean seconds per run
    wall_syne: float
    results_ours: list[int]  # per run: results compared (random: trials finished; asha: epochs) by the horizon
    results_syne: list[int]


def agreement(bench: Benchmark, method: str, seeds: int, seconds: float, our_workers: int = WORKERS) -> Agreement:
    """Ours and Syne Tune's curves for ``method`` over seeds 0..seeds-1 (``our_workers``: for
    checking that the comparison tells a wrong replay apart; Syne Tune always has 4)."""
    blackbox = syne_blackbox(bench)
    grid = np.linspace(seconds / GRID_POINTS, seconds, GRID_POINTS)
    final = bench.budgets[-1] if method == "random" else None
    curves: dict[str, list[np.ndarray]] = {"ours": [], "syne": []}
    walls: dict[str, list[float]] = {"ours": [], "syne": []}
    counts: dict[str, list[int]] = {"ours": [], "syne": []}
    for seed in range(seeds):
        for side, (df, wall) in (
            ("ours", our_run(bench, method, seed, seconds, our_workers)),
            ("syne", syne_run(blackbox, method, seed, seconds)),
        ):
            compared = df if final is None else df[df["epoch"] == final]
            curves[side].append(best_so_far(compared, grid))
            walls[side].append(wall)
            counts[side].append(int((compared["time_s"] <= seconds).sum()))
    stats = {side: np.array([mean_ci(col)[:3] for col in np.array(c).T]).T for side, c in curves.items()}
    ours, syne = stats["ours"], stats["syne"]
    valid = np.isfinite(np.array(curves["ours"])).all(axis=0) & np.isfinite(np.array(curves["syne"])).all(axis=0)
    overlap = valid & (ours[1] <= syne[2]) & (syne[1] <= ours[2])
    diff = np.where(valid, np.abs(ours[0] - syne[0]), -np.inf)
    return Agreement(
        method,
        grid,
        ours,
        syne,
        int(valid.sum()),
        int(overlap.sum()),
        float(diff.max()),
        float(grid[diff.argmax()]),
        float(np.mean(walls["ours"])),
        float(np.mean(walls["syne"])),
        counts["ours"],
        counts["syne"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated time horizon")
    args = parser.parse_args()
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    import ray.tune.schedulers  # noqa: F401  (imported once here, not inside the first timed replay)
    import syne_tune

    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared), load average {os.getloadavg()[0]:.1f}; syne-tune {syne_tune.__version__}"
    )
    bench = load_benchmark("mnist1d_tiny")
    for method in METHODS:
        a = agreement(bench, method, args.seeds, args.seconds)
        end = (
            f"{a.ours[0, -1]:.4f} [{a.ours[1, -1]:.4f}, {a.ours[2, -1]:.4f}] vs {a.syne[0, -1]:.4f} "
            f"[{a.syne[1, -1]:.4f}, {a.syne[2, -1]:.4f}]"
        )
        print(
            f"{method}: {args.seeds} seeds, {WORKERS} workers, {args.seconds:g} s: 95% CIs overlap at {a.overlap} of "
            f"{a.compared} grid points; max |mean difference| {a.max_diff:.4f} (at {a.max_diff_at:.0f} s); best val "
            f"error at {args.seconds:g} s ours vs Syne Tune {end}; results per run {np.mean(a.results_ours):.1f} vs "
            f"{np.mean(a.results_syne):.1f}; wall per run {a.wall_ours:.2f} s vs {a.wall_syne:.2f} s"
        )
        step = max(1, GRID_POINTS // 10)
        for j in range(step - 1, GRID_POINTS, step):
            print(
                f"  t={a.grid[j]:6.0f} s  ours {a.ours[0, j]:.4f} [{a.ours[1, j]:.4f}, {a.ours[2, j]:.4f}]  "
                f"syne {a.syne[0, j]:.4f} [{a.syne[1, j]:.4f}, {a.syne[2, j]:.4f}]"
            )
    print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
