"""One Ray Tune run: a searcher's trials dispatched to workers, results written through a recorder."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from nasbench.core.enums import Stage
from nasbench.search.cluster import TrialResources, max_concurrency
from nasbench.search.config import SchedulerConfig
from nasbench.search.recorder import StudyRecorder
from nasbench.search.worker import TrialSettings
from nasbench.train.curves import end_open_runs

STOPPED_WHILE_RUNNING = "the search stopped (time budget or failure limit) while this trial ran"


@dataclass(frozen=True)
class Dispatch:
    """How one Tune run goes: what trials get, where they run, when the run ends."""

    stage: Stage
    settings: TrialSettings
    resources: TrialResources
    max_failures: int  # consecutive failed trials that stop the run
    total: int | None  # trials in all, for the progress line
    already_done: int = 0
    time_left: float | None = None
    scheduler: Any = None  # a Ray Tune scheduler (early stopping), or None


def run_trials(searcher: Any, recorder: StudyRecorder, dispatch: Dispatch, console: Console) -> None:
    """Run ``searcher``'s trials through Ray Tune until it finishes or the run's limits end it."""
    from ray import tune

    from nasbench.search.callbacks import FailureStopper, StoreCallback
    from nasbench.search.worker import run_trial

    trainable = tune.with_resources(
        tune.with_parameters(run_trial, settings=dispatch.settings), dispatch.resources.as_ray()
    )
    # Failed and infeasible trials report no val_acc; Tune would otherwise reject those results.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    epochs = dispatch.settings.fidelity.epochs
    callback = StoreCallback(
        recorder, epochs, dispatch.total, console, stage=dispatch.stage, already_done=dispatch.already_done
    )
    with tempfile.TemporaryDirectory(prefix="nasbench-ray-") as storage:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=dispatch.scheduler,
                num_samples=-1,
                max_concurrent_trials=max_concurrency(dispatch.resources),
                reuse_actors=True,
                time_budget_s=dispatch.time_left,
                metric="val_acc",
                mode="max",
            ),
            run_config=tune.RunConfig(
                name=f"nasbench-{dispatch.stage}",
                storage_path=storage,
                callbacks=[callback],
                stop=FailureStopper(recorder, dispatch.max_failures),
                verbose=0,
                log_to_file=False,
            ),
        )
        tuner.fit()
    if dispatch.settings.logging is not None:  # the worker threads are gone: end what they left open
        end_open_runs(dispatch.settings.logging, dispatch.settings.study, str(dispatch.stage), callback.ended)
    recorder.interrupt_running(
        dispatch.stage, recorder.stop.trial_reason if recorder.stop.asked else STOPPED_WHILE_RUNNING
    )


def make_scheduler(s: SchedulerConfig, epochs: int) -> Any:
    """ASHA, or Hyperband as asynchronous successive halving over all its brackets.

    Ray's synchronous HyperBandScheduler pauses trials and resumes them from checkpoints; trials
    here keep no checkpoints, so the asynchronous form (no pausing) is the faithful one.
    """
    from ray.tune.schedulers import AsyncHyperBandScheduler

    if s.name == "none":
        return None
    brackets = 1
    if s.name == "hyperband":
        brackets = math.floor(math.log(epochs / s.grace_period, s.reduction_factor) + 1e-9) + 1
    return AsyncHyperBandScheduler(
        time_attr="epoch",
        max_t=epochs,
        grace_period=s.grace_period,
        reduction_factor=s.reduction_factor,
        brackets=brackets,
    )
