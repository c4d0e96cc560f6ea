"""``nasbench search``: validate everything, then run the study through Ray Tune.

Nothing is written to the database until the study file, the space, the sampler, the data set,
the database URL and the Ray address have all been checked. Re-running the same study resumes
it: finished trials are kept, trials that were running when the driver died are re-queued with
the same architecture, and the budget counts what was already spent.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from sqlalchemy import Engine, select

from nasbench.data import load_dataset
from nasbench.data.dataset import ArrayDataset
from nasbench.data.split import Split, make_split
from nasbench.errors import ConfigError
from nasbench.core import provenance
from nasbench.search.config import LoadedStudy, StudyConfig, load_study
from nasbench.search.prefilter import apply_prefilter
from nasbench.search.recorder import StudyRecorder
from nasbench.search.samplers import create_sampler
from nasbench.search.searcher import DataShape, Job, measure_on_meta
from nasbench.space.architecture import Architecture
from nasbench.store import records
from nasbench.store.db import default_url, mask_url, open_engine, session_scope
from nasbench.store.models import StudyRow, TrialRow
from nasbench.train.recipe import Fidelity

# Parts of a study file that may change between runs of the same study (budget can grow).
MUTABLE_FIELDS = ("budget", "final", "resources", "max_consecutive_failures", "targets")
STOPPED_WHILE_RUNNING = "the search stopped (time budget or failure limit) while this trial ran"


@dataclass
class Workload:
    """What every trial of a study trains on: the protocol, the data and its split."""

    config: StudyConfig
    dataset: ArrayDataset
    split: Split
    engine: Engine
    db_url: str

    @property
    def shape(self) -> DataShape:
        return DataShape(self.dataset.in_channels, self.dataset.num_classes, self.dataset.input_size)


@dataclass
class Prepared(Workload):
    """Everything a search needs, checked and loaded; nothing written yet."""

    loaded: LoadedStudy | None = None
    sampler: optuna.samplers.BaseSampler | None = None


@dataclass
class SearchOutcome:
    study: str
    counts: dict[str, int] = field(default_factory=dict)
    best_val_acc: float | None = None
    wall_s: float = 0.0
    stopped_reason: str | None = None


def load_data(cfg: StudyConfig) -> tuple[ArrayDataset, Split]:
    dataset = load_dataset(cfg.data.name, **cfg.data.options)
    split = make_split(dataset, cfg.data.val_size, cfg.data.test_size, cfg.data.split_seed)
    return dataset, split


def prepare(study_path: str, db_url: str | None = None) -> Prepared:
    loaded = load_study(study_path)
    cfg, space = loaded.config, loaded.space
    try:
        sampler = create_sampler(cfg.sampler.name, cfg.sampler.seed if cfg.sampler.seed is not None else cfg.seed,
                                 cfg.sampler.options, space, n_objectives=len(cfg.objectives))
        dataset, split = load_data(cfg)
    except ConfigError as e:
        raise ConfigError(f"{study_path}: {e}") from e
    if len(cfg.objectives) > 1 and cfg.scheduler.name != "none":
        raise ConfigError(f"{study_path}: field 'scheduler': early stopping ({cfg.scheduler.name}) needs a "
                          "single objective; remove it or keep only val_acc.")
    if cfg.scheduler.name != "none" and cfg.scheduler.grace_period > cfg.fidelity.epochs:
        raise ConfigError(f"{study_path}: field 'scheduler.grace_period': {cfg.scheduler.grace_period} is more "
                          f"than the {cfg.fidelity.epochs} epochs of a trial.")
    if dataset.ndim not in space.ndim:
        raise ConfigError(f"{study_path}: data set {cfg.data.name} is {dataset.ndim}D but space "
                          f"{space.name} allows only ndim {space.ndim}.")
    url = db_url or default_url()
    return Prepared(cfg, dataset, split, open_engine(url), url, loaded=loaded, sampler=sampler)


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    # Fields a newer version added (None when unused) do not make an older study different.
    return {k: v for k, v in config.items() if k not in MUTABLE_FIELDS and v is not None}


def get_or_create_study(p: Prepared, must_exist: bool = False) -> StudyRow:
    cfg, path = p.config, p.loaded.path
    config_json = cfg.model_dump(mode="json")
    with session_scope(p.engine) as s:
        row = records.get_study(s, cfg.name)
        if row is None and must_exist:
            raise ConfigError(f"{path}: --resume: study '{cfg.name}' is not in {mask_url(p.db_url)}; "
                              "run without --resume to start it.")
        if row is not None:
            if comparable(row.config_json) != comparable(config_json):
                raise ConfigError(
                    f"{path}: study '{cfg.name}' already exists in {mask_url(p.db_url)} with a "
                    "different space, data, sampler or recipe; give the study a new name."
                )
            if row.dataset_json.get("content_hash") != p.dataset.content_hash():
                raise ConfigError(f"{path}: the data set {cfg.data.name} differs from the one study "
                                  f"'{cfg.name}' was started on (content hash changed); give the study a new name.")
            row.config_json = config_json
            return row
        row = StudyRow(name=cfg.name, config_json=config_json, study_file=path,
                       study_file_hash=p.loaded.file_hash, space_json=p.loaded.space.model_dump(mode="json"),
                       dataset_json=p.dataset.describe(),
                       split_json={**p.split.sizes(), "test_is_official": p.split.test_is_official,
                                   "val_size": cfg.data.val_size, "split_seed": cfg.data.split_seed})
        s.add(row)
        s.flush()
        return row


def optuna_storage(url: str) -> optuna.storages.RDBStorage:
    return optuna.storages.RDBStorage(url, skip_compatibility_check=False)


def requeue_interrupted(engine: Engine, study_row: StudyRow, study: optuna.Study) -> int:
    """Repair what a killed driver left behind; returns how many trials were re-queued.

    A row still ``running`` whose Optuna trial is finished was told to Optuna just before the
    driver died (Tune tells the searcher before the callbacks): it is closed from Optuna's
    record. Trials that were really running are marked interrupted, failed in Optuna, and their
    parameters enqueued so the same architecture trains again.
    """
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    with session_scope(engine) as s:
        rows = {r.number: r for r in s.scalars(select(TrialRow).where(
            TrialRow.study_id == study_row.study_id, TrialRow.stage == "search"))}
        for row in rows.values():
            if row.state != "running":
                continue
            t = trials.get(row.number)
            if t is not None and t.state.is_finished():
                _close_from_optuna(s, row, t)
            else:
                records.finish_trial(s, row, "interrupted",
                                     failure_reason="the driver stopped while this trial ran; re-queued")
        row_states = {n: r.state for n, r in rows.items()}
    requeued = 0
    for t in trials.values():
        if t.state != TrialState.RUNNING:
            continue
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", "the driver stopped while this trial ran")
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        # Only trials that were training run again; one asked but not yet started (no row) or
        # rejected as infeasible just before the crash needs no second try.
        if t.params and row_states.get(t.number) == "interrupted":
            study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number}, skip_if_exists=False)
            requeued += 1
    return requeued


def _close_from_optuna(s: Any, row: TrialRow, t: FrozenTrial) -> None:
    attrs = t.user_attrs
    if t.state == TrialState.COMPLETE and "infeasible" in attrs:
        records.finish_trial(s, row, "infeasible", failure_reason=attrs["infeasible"])
    elif t.state == TrialState.COMPLETE:
        records.finish_trial(s, row, "complete", val_acc=float(t.values[0]))
    elif t.state == TrialState.PRUNED:
        records.finish_trial(s, row, "pruned")
    elif "failure" in attrs:
        records.finish_trial(s, row, "failed", failure_reason=attrs["failure"])
    else:
        records.finish_trial(s, row, "interrupted", failure_reason=attrs.get("interrupted") or "interrupted")


def remaining_budget(p: Workload, study_row: StudyRow) -> tuple[int | None, float | None]:
    budget = p.config.budget
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
    if address is None:
        _start_local_ray()
        return True
    check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ConfigError(f"--ray-address {address}: cannot join a Ray cluster there ({_first_line(e)}); "
                          "start one with `ray start --head` or check the address.") from e
    return True


def _start_local_ray(attempts: int = 2) -> None:
    """Start a fresh embedded Ray; retry once, since a loaded machine can miss Ray's start-up timeout.

    "local" starts a new instance: plain None would join any cluster a `ray start` left on this
    machine (Ray remembers it in /tmp/ray), even a dead one.
    """
    import ray

    for attempt in range(attempts):
        try:
            ray.init(address="local", include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False, configure_logging=True)
            return
        except ConnectionError:
            ray.shutdown()
            if attempt == attempts - 1:
                raise


def check_reachable(address: str) -> None:
    """Refuse a ``host:port`` nobody listens on at once: Ray itself would keep retrying for minutes."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise ConfigError(f"--ray-address {address}: cannot join a Ray cluster there ({e.strerror or e}); "
                          "start one with `ray start --head` or check the address.") from e


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0].rstrip(".")


def trial_resources(cfg_cpu: float, cfg_gpu: float) -> tuple[dict[str, float], str]:
    """Per-trial resources: 1 GPU per trial when the cluster has GPUs and none were set."""
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    gpu = cfg_gpu if cfg_gpu > 0 else (1.0 if gpus > 0 else 0.0)
    return {"cpu": cfg_cpu, "gpu": gpu}, ("cuda" if gpu > 0 else "cpu")


def max_concurrency(resources: dict[str, float]) -> int:
    """How many trials of ``resources`` the cluster holds at once."""
    import ray

    total = ray.cluster_resources()
    n = max(1, int(total.get("CPU", 1) // resources["cpu"]))
    if resources["gpu"] > 0:
        n = min(n, max(1, int(total.get("GPU", 1) // resources["gpu"])))
    return n


def run_search(study_path: str, db_url: str | None = None, ray_address: str | None = None,
               console: Console | None = None, shutdown_ray: bool = False,
               resume: bool = False) -> SearchOutcome:
    """Run (or resume) the study in ``study_path`` until its budget is spent.

    Re-running a study always continues it; ``resume=True`` also insists that it exists.
    """
    console = console or Console()
    t_start = time.perf_counter()
    if ray_address is not None:
        check_reachable(ray_address)  # before the database is touched
    p = prepare(study_path, db_url)
    started = start_ray(ray_address)
    try:
        outcome = _search(p, console, resume)
    finally:
        if started and shutdown_ray:
            import ray

            ray.shutdown()
    outcome.wall_s = time.perf_counter() - t_start
    return outcome


def _search(p: Prepared, console: Console, resume: bool = False) -> SearchOutcome:
    cfg = p.config
    study_row = get_or_create_study(p, must_exist=resume)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=cfg.name, storage=optuna_storage(p.db_url), sampler=p.sampler,
                                directions=cfg.directions, load_if_exists=True)
    if cfg.prefilter is not None and not study.trials:
        pf = cfg.prefilter
        console.print(f"pre-filter: scoring {pf.sample} random architectures with {pf.proxy} at initialisation")
        kept = apply_prefilter(cfg, p.loaded.space, p.shape, study)
        console.print(f"pre-filter: the best {kept} by {pf.proxy} are evaluated first")
    requeued = requeue_interrupted(p.engine, study_row, study)
    trials_left, time_left = remaining_budget(p, study_row)
    prov = provenance.collect(p.loaded.path, p.loaded.file_hash, p.dataset.content_hash())
    prov["seed"] = cfg.seed
    recorder = StudyRecorder(p.engine, study_row, prov)
    recorder.mark_running()
    outcome = SearchOutcome(study=cfg.name)
    if requeued:
        console.print(f"resuming study {cfg.name}: {requeued} interrupted trial(s) re-queued")
    try:
        if (trials_left is None or trials_left > 0) and (time_left is None or time_left > 0):
            outcome.stopped_reason = _tune(p, study, recorder, trials_left, time_left, console)
        else:
            console.print(f"study {cfg.name}: search budget already spent")
        if cfg.final and (cfg.final.top_k > 0 or cfg.final.best_within) and outcome.stopped_reason is None:
            _final(p, recorder, console)
    finally:
        recorder.close("stopped" if outcome.stopped_reason else "finished")
    outcome.best_val_acc = best_val_acc(p.engine, cfg.name)
    outcome.counts = state_counts(p.engine, cfg.name)
    return outcome


def state_counts(engine: Engine, study: str) -> dict[str, int]:
    df = records.load_trials(engine, study)
    return df[df["stage"] == "search"]["state"].value_counts().to_dict() if len(df) else {}


def best_val_acc(engine: Engine, study: str) -> float | None:
    df = records.load_trials(engine, study)
    done = df[(df["stage"] == "search") & (df["state"] == "complete")]["val_acc"].dropna() if len(df) else df
    return float(done.max()) if len(done) else None


def run_jobs(w: Workload, searcher: Any, recorder: StudyRecorder, fidelity: Fidelity, *, evaluate_test: bool,
             console: Console, stage: str, total: int | None, already_done: int = 0, time_left: float | None = None,
             scheduler: Any = None) -> None:
    """One Ray Tune run of ``searcher``'s trials; results go to the store through ``recorder``."""
    from ray import tune

    from nasbench.search.callbacks import FailureStopper, StoreCallback
    from nasbench.search.worker import TrialSettings, run_trial

    cfg = w.config
    resources, device = trial_resources(cfg.resources.cpu, cfg.resources.gpu)
    settings = TrialSettings(recipe=cfg.recipe, fidelity=fidelity, evaluate_test=evaluate_test, device=device,
                             threads=max(1, int(resources["cpu"])),
                             max_latency_ms=cfg.constraints.get("latency_ms"))
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, dataset=w.dataset, split=w.split, settings=settings), resources)
    # Failed and infeasible trials report no val_acc; Tune would otherwise reject those results.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    callback = StoreCallback(recorder, fidelity.epochs, total, console, stage=stage, already_done=already_done)
    with tempfile.TemporaryDirectory(prefix="nasbench-ray-") as storage:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=-1,
                                        max_concurrent_trials=max_concurrency(resources), reuse_actors=True,
                                        time_budget_s=time_left, metric="val_acc", mode="max"),
            run_config=tune.RunConfig(name=f"nasbench-{stage}", storage_path=storage, callbacks=[callback],
                                      stop=FailureStopper(recorder, cfg.max_consecutive_failures),
                                      verbose=0, log_to_file=False),
        )
        tuner.fit()
    recorder.interrupt_running(stage, STOPPED_WHILE_RUNNING)


def make_scheduler(cfg: StudyConfig) -> Any:
    """ASHA, or Hyperband as asynchronous successive halving over all its brackets.

    Ray's synchronous HyperBandScheduler pauses trials and resumes them from checkpoints; trials
    here keep no checkpoints, so the asynchronous form (no pausing) is the faithful one.
    """
    from ray.tune.schedulers import AsyncHyperBandScheduler

    s, epochs = cfg.scheduler, cfg.fidelity.epochs
    if s.name == "none":
        return None
    brackets = 1
    if s.name == "hyperband":
        brackets = int(math.floor(math.log(epochs / s.grace_period, s.reduction_factor) + 1e-9)) + 1
    return AsyncHyperBandScheduler(time_attr="epoch", max_t=epochs, grace_period=s.grace_period,
                                   reduction_factor=s.reduction_factor, brackets=brackets)


def _tune(p: Prepared, study: optuna.Study, recorder: StudyRecorder, trials_left: int | None,
          time_left: float | None, console: Console) -> str | None:
    from nasbench.search.searcher import OptunaNasSearcher

    cfg = p.config
    searcher = OptunaNasSearcher(study, p.loaded.space, p.shape, recorder, cfg.objectives, cfg.constraints,
                                 cfg.fidelity.model_dump(mode="json"), cfg.fidelity.epochs, cfg.seed,
                                 cfg.fidelity.resolution, budget=trials_left, max_slow=cfg.max_consecutive_failures)
    done = (cfg.budget.trials - trials_left) if trials_left is not None else 0
    run_jobs(p, searcher, recorder, cfg.fidelity, evaluate_test=False, console=console, stage="search",
             total=cfg.budget.trials, already_done=done, time_left=time_left, scheduler=make_scheduler(cfg))
    searcher.abandon(STOPPED_WHILE_RUNNING)
    if searcher.finished_note:
        console.print(f"search finished early: {searcher.finished_note}")
    if searcher.stopped_reason:
        console.print(f"[red]search stopped: {searcher.stopped_reason}[/red]")
        return searcher.stopped_reason
    if recorder.consecutive_failures >= cfg.max_consecutive_failures:
        reason = (f"{recorder.consecutive_failures} trials failed in a row; the last failure reasons are in "
                  f"`nasbench status {cfg.name}`")
        console.print(f"[red]search stopped: {reason}[/red]")
        return reason
    return None


def final_selection(searched: pd.DataFrame, top_k: int, best_within: dict[str, float]) -> pd.DataFrame:
    """The top-k distinct architectures by validation accuracy, then the best within each bound.

    ``searched`` is sorted best first; rows without the bounded figure (e.g. no latency) never qualify.
    """
    distinct = searched.drop_duplicates("digest")
    picked = distinct.head(top_k)
    for key, bound in best_within.items():
        within = distinct[distinct[key].notna() & (distinct[key] <= bound)].head(1)
        if len(within) and within["digest"].iloc[0] not in set(picked["digest"]):
            picked = pd.concat([picked, within])
    return picked


def _final(p: Prepared, recorder: StudyRecorder, console: Console) -> None:
    """Re-train the top-k searched architectures (by validation accuracy) at final fidelity, with test."""
    from nasbench.search.searcher import ListSearcher

    cfg = p.config
    df = records.load_trials(p.engine, cfg.name)
    searched = df[(df["stage"] == "search") & (df["state"] == "complete")].sort_values(
        ["val_acc", "number"], ascending=[False, True])
    top = final_selection(searched, cfg.final.top_k, cfg.final.best_within)
    finals = set(df[(df["stage"] == "final") & (df["state"] == "complete")]["number"])
    fidelity = cfg.final.fidelity
    jobs = []
    for r in top.itertuples():
        if int(r.number) in finals:
            continue
        arch = Architecture.from_json(r.arch_json)
        params, flops = measure_on_meta(arch, p.shape, fidelity.resolution or arch.resolution)
        jobs.append(Job(int(r.number), arch.summary(), params, flops, arch=arch))
    if not jobs:
        return
    console.print(f"final training of {len(top)} architectures (top {cfg.final.top_k} by validation"
                  f"{', best within ' + str(cfg.final.best_within) if cfg.final.best_within else ''}) at {fidelity.epochs} epochs "
                  "(test accuracy measured)")
    searcher = ListSearcher(jobs, recorder, cfg.seed, fidelity.model_dump(mode="json"))
    run_jobs(p, searcher, recorder, fidelity, evaluate_test=True, console=console, stage="final", total=len(jobs))
