"""``nasbench search``: validate everything, then run the study through Ray Tune.

Nothing is written to the database until the study file, the space, the sampler, the data set
and the database URL have all been checked. Re-running the same study resumes it: finished
trials are kept, trials that were running when the driver died are re-queued with the same
architecture, and the budget counts what was already spent.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
from rich.console import Console
from sqlalchemy import Engine, select

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.split import Split, make_split
from nasbench.errors import ConfigError
from nasbench.search import provenance
from nasbench.search.config import LoadedStudy, load_study
from nasbench.search.recorder import StudyRecorder
from nasbench.search.samplers import create_sampler
from nasbench.search.searcher import DataShape
from nasbench.space.architecture import Architecture
from nasbench.store import records
from nasbench.store.db import mask_url, open_engine, session_scope
from nasbench.store.models import StudyRow, TrialRow

# Parts of a study file that may change between runs of the same study (budget can grow).
MUTABLE_FIELDS = ("budget", "final", "resources", "max_consecutive_failures")


@dataclass
class Prepared:
    """Everything checked and loaded, nothing written yet."""

    loaded: LoadedStudy
    dataset: ArrayDataset
    split: Split
    engine: Engine
    db_url: str
    sampler: optuna.samplers.BaseSampler


@dataclass
class SearchOutcome:
    study: str
    counts: dict[str, int] = field(default_factory=dict)
    best_val_acc: float | None = None
    wall_s: float = 0.0
    stopped_reason: str | None = None


def prepare(study_path: str, db_url: str | None = None) -> Prepared:
    loaded = load_study(study_path)
    cfg, space = loaded.config, loaded.space
    sampler = create_sampler(cfg.sampler.name, cfg.sampler.seed if cfg.sampler.seed is not None else cfg.seed,
                             cfg.sampler.options, space, n_objectives=len(cfg.objectives))
    if len(cfg.objectives) > 1 and cfg.scheduler.name != "none":
        raise ConfigError(f"{study_path}: field 'scheduler': early stopping ({cfg.scheduler.name}) needs a "
                          "single objective; remove it or keep only val_acc.")
    dataset = load_dataset(cfg.data.name, **cfg.data.options)
    if dataset.ndim not in space.ndim:
        raise ConfigError(f"{study_path}: data set {cfg.data.name} is {dataset.ndim}D but space "
                          f"{space.name} allows only ndim {space.ndim}.")
    split = make_split(dataset, cfg.data.val_size, cfg.data.test_size, cfg.data.split_seed)
    from nasbench.store.db import default_url

    url = db_url or default_url()
    engine = open_engine(url)
    return Prepared(loaded, dataset, split, engine, url, sampler)


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in MUTABLE_FIELDS}


def get_or_create_study(p: Prepared) -> StudyRow:
    cfg = p.loaded.config
    config_json = cfg.model_dump(mode="json")
    with session_scope(p.engine) as s:
        row = records.get_study(s, cfg.name)
        if row is not None:
            if comparable(row.config_json) != comparable(config_json):
                raise ConfigError(
                    f"{p.loaded.path}: study '{cfg.name}' already exists in {mask_url(p.db_url)} with a "
                    "different space, data, sampler or recipe; give the study a new name."
                )
            row.config_json = config_json
            return row
        row = StudyRow(name=cfg.name, config_json=config_json, study_file=p.loaded.path,
                       study_file_hash=p.loaded.file_hash, space_json=p.loaded.space.model_dump(mode="json"),
                       dataset_json=p.dataset.describe(),
                       split_json={**p.split.sizes(), "test_is_official": p.split.test_is_official,
                                   "val_size": cfg.data.val_size, "split_seed": cfg.data.split_seed})
        s.add(row)
        s.flush()
        return row


def optuna_storage(url: str) -> optuna.storages.RDBStorage:
    return optuna.storages.RDBStorage(url, skip_compatibility_check=False)


def requeue_interrupted(p: Prepared, study_row: StudyRow, study: optuna.Study) -> int:
    """Trials left running by a killed driver: mark them interrupted and re-queue their params."""
    requeued = 0
    running = {t.number: t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
    with session_scope(p.engine) as s:
        rows = s.scalars(select(TrialRow).where(TrialRow.study_id == study_row.study_id,
                                                TrialRow.state == "running", TrialRow.stage == "search")).all()
        for row in rows:
            row.state = "interrupted"
            row.failure_reason = "the driver stopped while this trial ran; re-queued"
    for number, t in running.items():
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        if t.params:
            study.enqueue_trial(t.params, user_attrs={"requeued_from": number}, skip_if_exists=False)
            requeued += 1
    return requeued


def remaining_budget(p: Prepared, study_row: StudyRow) -> tuple[int | None, float | None]:
    budget = p.loaded.config.budget
    with session_scope(p.engine) as s:
        row = s.get(StudyRow, study_row.study_id)
        spent_trials = records.count_trials(s, row, records.FINISHED)
        spent_time = row.elapsed_s
    trials = None if budget.trials is None else max(0, budget.trials - spent_trials)
    seconds = None if budget.time is None else max(0.0, budget.time - spent_time)
    return trials, seconds


def start_ray(address: str | None) -> bool:
    """Connect to ``address`` or start an embedded local Ray; True if this call started it."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # The legacy reporter with verbose=0 prints nothing; our callback shows progress instead.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
             configure_logging=True)
    return True


def trial_resources(cfg_cpu: float, cfg_gpu: float) -> tuple[dict[str, float], str]:
    """Per-trial resources: 1 GPU per trial when the cluster has GPUs and none were set."""
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    gpu = cfg_gpu if cfg_gpu > 0 else (1.0 if gpus > 0 else 0.0)
    return {"cpu": cfg_cpu, "gpu": gpu}, ("cuda" if gpu > 0 else "cpu")


def run_search(study_path: str, db_url: str | None = None, ray_address: str | None = None,
               console: Console | None = None, shutdown_ray: bool = False) -> SearchOutcome:
    """Run (or resume) the study in ``study_path`` until its budget is spent."""
    console = console or Console()
    t_start = time.perf_counter()
    p = prepare(study_path, db_url)
    cfg = p.loaded.config
    study_row = get_or_create_study(p)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=cfg.name, storage=optuna_storage(p.db_url), sampler=p.sampler,
                                directions=cfg.directions, load_if_exists=True)
    requeued = requeue_interrupted(p, study_row, study)
    trials_left, time_left = remaining_budget(p, study_row)
    prov = provenance.collect(p.loaded.path, p.loaded.file_hash, p.dataset.content_hash())
    prov["seed"] = cfg.seed
    recorder = StudyRecorder(p.engine, study_row, prov)
    outcome = SearchOutcome(study=cfg.name)
    if requeued:
        console.print(f"resuming study {cfg.name}: {requeued} interrupted trial(s) re-queued")
    started = False
    try:
        if (trials_left is None or trials_left > 0) and (time_left is None or time_left > 0):
            started = start_ray(ray_address)
            outcome.stopped_reason = _tune(p, study, recorder, trials_left, time_left, console)
        else:
            console.print(f"study {cfg.name}: search budget already spent")
        if cfg.final and cfg.final.top_k > 0 and outcome.stopped_reason is None:
            started = start_ray(ray_address) or started
            _final(p, study_row, recorder, console)
    finally:
        wall = time.perf_counter() - t_start
        recorder.add_elapsed(wall, "stopped" if outcome.stopped_reason else "finished")
        if started and shutdown_ray:
            import ray

            ray.shutdown()
    outcome.wall_s = wall
    outcome.best_val_acc = recorder.best_val_acc
    outcome.counts = state_counts(p.engine, cfg.name)
    return outcome


def state_counts(engine: Engine, study: str) -> dict[str, int]:
    df = records.load_trials(engine, study)
    return df[df["stage"] == "search"]["state"].value_counts().to_dict() if len(df) else {}


def _settings(p: Prepared, fidelity, evaluate_test: bool, device: str, cpu: float):
    from nasbench.search.worker import TrialSettings

    return TrialSettings(recipe=p.loaded.config.recipe, fidelity=fidelity, evaluate_test=evaluate_test,
                         device=device, threads=max(1, int(cpu)))


def _tuner(p: Prepared, searcher, recorder: StudyRecorder, fidelity, evaluate_test: bool, num_samples: int,
           time_left: float | None, console: Console, stage: str, already_done: int, total: int | None,
           scheduler=None):
    from ray import tune

    from nasbench.search.callbacks import FailureStopper, StoreCallback
    from nasbench.search.worker import run_trial

    cfg = p.loaded.config
    resources, device = trial_resources(cfg.resources.cpu, cfg.resources.gpu)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, dataset=p.dataset, split=p.split,
                             settings=_settings(p, fidelity, evaluate_test, device, resources["cpu"])),
        resources,
    )
    import ray

    total_cpu = ray.cluster_resources().get("CPU", 1)
    concurrency = max(1, int(total_cpu // resources["cpu"]))
    if resources["gpu"] > 0:
        concurrency = min(concurrency, max(1, int(ray.cluster_resources().get("GPU", 1) // resources["gpu"])))
    callback = StoreCallback(recorder, fidelity.epochs, total, console, stage=stage, already_done=already_done)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=num_samples,
                                    max_concurrent_trials=concurrency, reuse_actors=True,
                                    time_budget_s=time_left, metric="val_acc", mode="max"),
        run_config=tune.RunConfig(name=f"nasbench-{stage}", storage_path=tempfile.mkdtemp(prefix="nasbench-ray-"),
                                  callbacks=[callback], stop=FailureStopper(recorder, cfg.max_consecutive_failures),
                                  verbose=0, log_to_file=False),
    )


def _scheduler(p: Prepared):
    from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler

    s, epochs = p.loaded.config.scheduler, p.loaded.config.fidelity.epochs
    if s.name == "asha":
        return ASHAScheduler(time_attr="epoch", max_t=epochs, grace_period=s.grace_period,
                             reduction_factor=s.reduction_factor)
    if s.name == "hyperband":
        return HyperBandScheduler(time_attr="epoch", max_t=epochs, reduction_factor=s.reduction_factor)
    return None


def _tune(p: Prepared, study: optuna.Study, recorder: StudyRecorder, trials_left: int | None,
          time_left: float | None, console: Console) -> str | None:
    from nasbench.search.searcher import OptunaNasSearcher

    cfg = p.loaded.config
    shape = DataShape(p.dataset.in_channels, p.dataset.num_classes, p.dataset.input_size)
    searcher = OptunaNasSearcher(study, p.loaded.space, shape, recorder, cfg.objectives, cfg.constraints,
                                 cfg.fidelity.model_dump(mode="json"), cfg.fidelity.epochs, cfg.seed,
                                 cfg.fidelity.resolution)
    done = (cfg.budget.trials - trials_left) if trials_left is not None else 0
    tuner = _tuner(p, searcher, recorder, cfg.fidelity, False, trials_left if trials_left is not None else -1,
                   time_left, console, "search", done, cfg.budget.trials, scheduler=_scheduler(p))
    tuner.fit()
    if searcher.stopped_reason:
        console.print(f"[red]search stopped: {searcher.stopped_reason}[/red]")
        return searcher.stopped_reason
    if recorder.consecutive_failures >= cfg.max_consecutive_failures:
        reason = (f"{recorder.consecutive_failures} trials failed in a row; the last failure reasons are in "
                  f"`nasbench status {cfg.name}`")
        console.print(f"[red]search stopped: {reason}[/red]")
        return reason
    return None


def _final(p: Prepared, study_row: StudyRow, recorder: StudyRecorder, console: Console) -> None:
    """Re-train the top-k searched architectures (by validation accuracy) at final fidelity, with test."""
    from nasbench.search.searcher import ListSearcher

    cfg = p.loaded.config
    df = records.load_trials(p.engine, cfg.name)
    searched = df[(df["stage"] == "search") & (df["state"] == "complete")].sort_values(
        ["val_acc", "number"], ascending=[False, True])
    top = searched.drop_duplicates("digest").head(cfg.final.top_k)
    finals = df[(df["stage"] == "final") & (df["state"] == "complete")]
    todo = [(int(r.number), Architecture.from_json(r.arch_json)) for r in top.itertuples()
            if int(r.number) not in set(finals["number"])]
    if not todo:
        return
    console.print(f"final training of the top {len(top)} architectures at {cfg.final.fidelity.epochs} epochs "
                  "(test accuracy measured)")
    shape = DataShape(p.dataset.in_channels, p.dataset.num_classes, p.dataset.input_size)
    searcher = ListSearcher(todo, recorder, cfg.seed, cfg.final.fidelity.model_dump(mode="json"), shape)
    tuner = _tuner(p, searcher, recorder, cfg.final.fidelity, True, len(todo), None, console, "final",
                   0, len(todo))
    tuner.fit()
