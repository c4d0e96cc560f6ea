"""``nasbench search``: check everything, then run the study through Ray Tune, then the final stage.

Nothing is written to the results store until the study file, the space, the sampler, the data
set, the database and the Ray address have all been checked (``prepare``). Re-running the same
study resumes it (see ``nasbench.search.resume``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from rich.console import Console

from nasbench.core import provenance
from nasbench.core.enums import EvaluatorKind, Family, Stage, TrialState
from nasbench.data.spec import Task
from nasbench.errors import ConfigError
from nasbench.nn.supernet import supernet_refusal
from nasbench.search.cluster import check_reachable, check_token, spread_over, start_ray, stop_ray, trial_resources
from nasbench.search.config import LoadedStudy, StudyConfig, load_study
from nasbench.search.dispatch import STOPPED_WHILE_RUNNING, Dispatch, make_scheduler, run_trials
from nasbench.search.final import describe_final, final_jobs
from nasbench.search.ledger import Ledger, StoredStudy
from nasbench.search.prefilter import apply_prefilter
from nasbench.search.recorder import StudyRecorder
from nasbench.search.resume import check_parameters, open_study, remaining_budget, requeue_interrupted
from nasbench.search.samplers import create_sampler
from nasbench.search.stop import StopRequest, stop_on_signals
from nasbench.search.worker import TrialSettings
from nasbench.space.sample import RandomTrial, infeasibility, sample_architecture
from nasbench.train.evaluate import Evaluator, ScratchEvaluator
from nasbench.train.recipe import Fidelity

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Prepared:
    """Everything a search needs, checked and loaded; nothing written yet."""

    loaded: LoadedStudy
    task: Task
    sampler: optuna.samplers.BaseSampler

    @property
    def config(self) -> StudyConfig:
        return self.loaded.config


@dataclass
class SearchOutcome:
    study: str
    counts: dict[str, int] = field(default_factory=dict)
    best_val_acc: float | None = None
    wall_s: float = 0.0
    stopped_reason: str | None = None
    exit_code: int = 0  # 1 when the search stopped on its own limits; 130/143 after SIGINT/SIGTERM


def prepare(study_path: str, logger: str | None = None, replicate: tuple[int, bool] | None = None) -> Prepared:
    """Load and check the study file, its space, sampler and data; nothing is written.

    ``logger`` overrides the study's ``logging.logger`` (``none``: no logger); ``replicate`` (seed,
    random): prepare the study's replicate instead (see ``nasbench.search.config.as_replicate``)."""
    loaded = load_study(study_path, logger, replicate)
    cfg, space = loaded.config, loaded.space
    try:
        sampler = create_sampler(
            cfg.sampler.name, cfg.sampler_seed, cfg.sampler.options, space, n_objectives=len(cfg.objectives)
        )
        task = cfg.data.load()
    except ConfigError as e:
        raise ConfigError(f"{study_path}: {e}") from e
    if cfg.shared_weights and (refusal := supernet_refusal(space)) is not None:
        raise ConfigError(f"{study_path}: field 'evaluator': {refusal}.")
    if task.dataset.ndim not in space.ndim:
        raise ConfigError(
            f"{study_path}: data set {cfg.data.name} is {task.dataset.ndim}D but space "
            f"{space.name} allows only ndim {space.ndim}."
        )
    _check_feasible(loaded, task)
    return Prepared(loaded, task, sampler)


def _check_feasible(loaded: LoadedStudy, task: Task, samples: int = 200) -> None:
    """Refuse a space none of whose sampled architectures can be trained on the data (checked on
    the architecture alone, without building a network: milliseconds)."""
    cfg, space = loaded.config, loaded.space
    rng = np.random.default_rng(0)
    reasons: Counter[str] = Counter()
    for _ in range(samples):
        arch = sample_architecture(RandomTrial(rng), space)
        reason = infeasibility(arch, task.shape.spatial(cfg.fidelity.resolution or arch.resolution))
        if reason is None:
            return
        reasons[reason] += 1
    common = reasons.most_common(1)[0][0]
    raise ConfigError(
        f"{loaded.path}: none of {samples} architectures sampled from space {space.name} can be trained "
        f"on {cfg.data.name} (most often: {common}); change the space or the resolution."
    )


def run_search(
    study_path: str,
    ledger: Ledger,
    ray_address: str | None = None,
    console: Console | None = None,
    shutdown_ray: bool = False,
    resume: bool = False,
    logger: str | None = None,
    replicate: tuple[int, bool] | None = None,
    baselines: bool = True,
) -> SearchOutcome:
    """Run (or resume) the study in ``study_path`` until its budget is spent.

    Re-running a study always continues it; ``resume=True`` also insists that it exists.
    ``logger`` overrides the study's ``logging.logger`` (``none``: no logger). ``replicate``
    (seed, random): run the study's replicate with that seed (random search when ``random``).
    ``baselines=False`` leaves the study file's baselines untrained, for a later run to train.
    """
    console = console or Console()
    t_start = time.perf_counter()
    if ray_address is not None:  # before the database is touched
        check_reachable(ray_address)
        check_token(ray_address)
    p = prepare(study_path, logger, replicate)
    ledger.connect()
    stored = open_study(ledger, p.loaded, p.task, must_exist=resume)
    stop = StopRequest()
    # One live driver per study: a second launch is refused here, before Ray starts or any trial
    # is touched; the lease is renewed until the search ends and released after Ray is down.
    with ledger.hold_driver(stored.study_id, on_lost=stop.lease_lost):
        started = start_ray(ray_address)
        try:
            # After ray.init, which sets a SIGTERM handler of its own.
            with stop_on_signals(stop, lambda message: console.print(f"[yellow]{message}[/yellow]")):
                # What the later stages read (baselines' provenance, the final protocol) is the file's now.
                stored = ledger.update_config(stored.study_id, p.config, p.loaded.path, p.loaded.file_hash)
                outcome = _drive(p, ledger, stored, stop, console, baselines)
        finally:
            stop_ray(started and shutdown_ray)
    outcome.wall_s = time.perf_counter() - t_start
    return outcome


def _drive(
    p: Prepared, ledger: Ledger, stored: StoredStudy, stop: StopRequest, console: Console, baselines: bool
) -> SearchOutcome:
    """The search under the study's lease: repair a crashed run, spend the budget, the final stage,
    then (when ``baselines``) the study file's baselines."""
    cfg = p.config
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=cfg.name, storage=ledger.url, sampler=p.sampler, directions=cfg.directions, load_if_exists=True
    )
    check_parameters(study, p.loaded.space, p.loaded.path)
    if cfg.prefilter is not None and not study.trials:
        pf = cfg.prefilter
        console.print(f"pre-filter: scoring {pf.sample} random architectures with {pf.proxy} at initialisation")
        kept = apply_prefilter(cfg, p.loaded.space, p.task, study)
        console.print(f"pre-filter: the best {kept} by {pf.proxy} are evaluated first")
    requeued = requeue_interrupted(ledger, stored, study)
    prov = provenance.collect(p.loaded.path, p.loaded.file_hash, p.task.content_hash)
    prov["seed"] = cfg.seed
    recorder = StudyRecorder(ledger, stored, prov, stop)
    recorder.mark_running()
    outcome = SearchOutcome(study=cfg.name)
    if requeued:
        console.print(f"resuming study {cfg.name}: {requeued} interrupted trial(s) re-queued")
    try:
        weights = None
        if cfg.shared_weights:
            from nasbench.search.supernet import study_supernet

            weights = study_supernet(cfg, p.loaded.space, p.task, ledger, stored, recorder, console)
        # After the supernet's training: its time counts against the time budget.
        trials_left, time_left = remaining_budget(ledger, stored, cfg.budget)
        if stop.asked:  # during the supernet's training: no search, no final stage
            pass
        elif (trials_left is None or trials_left > 0) and (time_left is None or time_left > 0):
            outcome.stopped_reason = _tune(p, study, recorder, trials_left, time_left, console, weights)
        else:
            console.print(f"study {cfg.name}: search budget already spent")
        if outcome.stopped_reason is None and (failed := _all_failed(ledger, stored)) is not None:
            console.print(f"[red]search failed: {failed}[/red]")
            outcome.stopped_reason = failed
        if cfg.final and (cfg.final.top_k > 0 or cfg.final.best_within) and outcome.stopped_reason is None:
            _final(p, ledger, stored, recorder, console)
        if cfg.baselines and outcome.stopped_reason is None and not stop.asked:
            if baselines:
                _baselines(p, ledger, stored, console)
            else:
                console.print(f"study {cfg.name}: baselines not trained (--no-baselines); a run without it trains them")
        if stop.asked:
            outcome.stopped_reason, outcome.exit_code = stop.reason, stop.exit_code
        elif outcome.stopped_reason:
            outcome.exit_code = 1
    finally:
        recorder.close(_status(stop, outcome.stopped_reason))
    if stop.asked:
        console.print(f"[red]search stopped: {stop.reason}; run the same command again to resume[/red]")
    searched = ledger.trials(stored.study_id, stage=Stage.SEARCH)
    outcome.counts = _counts(searched)
    accs = [t.val_acc for t in searched if t.state == TrialState.COMPLETE and t.val_acc is not None]
    outcome.best_val_acc = max(accs) if accs else None
    return outcome


def _status(stop: StopRequest, stopped_reason: str | None) -> str:
    if stop.asked:
        return "interrupted"
    return "stopped" if stopped_reason else "finished"


def _all_failed(ledger: Ledger, stored: StoredStudy) -> str | None:
    """Why the search is a failure when every searched trial that ended failed (None otherwise)."""
    ended = [
        t
        for t in ledger.trials(stored.study_id, stage=Stage.SEARCH, family=Family.SEARCHED)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
    ]
    failed = [t for t in ended if t.state == TrialState.FAILED]
    if not failed or len(failed) < len(ended):
        return None
    first = failed[0].failure_reason or f"see `nasbench status {stored.name}`"
    return f"all {len(failed)} trials failed (trial {failed[0].number}: {first})"


def _counts(trials: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in trials:
        counts[str(t.state)] = counts.get(str(t.state), 0) + 1
    return counts


def dispatch_for(
    cfg: StudyConfig,
    task: Task,
    stage: Stage,
    fidelity: Fidelity,
    test: bool,
    total: int | None,
    already_done: int = 0,
    time_left: float | None = None,
    scheduler: Any = None,
    supernet: dict[str, torch.Tensor] | None = None,
) -> Dispatch:
    """The Tune run settings of a stage: the study's evaluator, resources and failure limit.

    ``supernet``: score candidates as paths of a supernet with these weights (the search stage of a
    study with ``evaluator: supernet``), instead of training them from scratch."""
    resources = trial_resources(cfg.resources.cpu, cfg.resources.gpu)
    if stage is Stage.FINAL and total is not None and cfg.resources.spread_final:
        resources = spread_over(resources, total)
    evaluator: Evaluator
    if supernet is not None and cfg.evaluator is not None:
        from nasbench.train.supernet import SupernetEvaluator

        evaluator = SupernetEvaluator(
            task,
            supernet,
            calibration_batches=cfg.evaluator.calibration_batches,
            batch_size=cfg.recipe.batch_size,
            val_samples=cfg.evaluator.val_samples,
            device=resources.device,
            threads=resources.threads,
            max_latency_ms=cfg.constraints.get("latency_ms"),
        )
    else:
        evaluator = ScratchEvaluator(
            task,
            cfg.recipe,
            device=resources.device,
            threads=resources.threads,
            max_latency_ms=cfg.constraints.get("latency_ms"),
        )
    if cfg.logging is not None:
        cfg.logging.prepare(cfg.name)
    return Dispatch(
        stage,
        TrialSettings(evaluator, fidelity, test, cfg.name, cfg.logging),
        resources,
        cfg.max_consecutive_failures,
        total,
        already_done,
        time_left,
        scheduler,
    )


def _tune(
    p: Prepared,
    study: optuna.Study,
    recorder: StudyRecorder,
    trials_left: int | None,
    time_left: float | None,
    console: Console,
    supernet: dict[str, torch.Tensor] | None = None,
) -> str | None:
    from nasbench.search.searcher import OptunaNasSearcher, SearchPlan

    cfg = p.config
    plan = SearchPlan(
        p.loaded.space,
        p.task.shape,
        tuple(cfg.objectives),
        dict(cfg.constraints),
        cfg.fidelity,
        cfg.seed,
        budget=trials_left,
        evaluator=EvaluatorKind.SUPERNET if supernet is not None else EvaluatorKind.SCRATCH,
        max_slow=cfg.max_consecutive_failures,
    )
    searcher = OptunaNasSearcher(plan, study, recorder)
    done = (cfg.budget.trials - trials_left) if cfg.budget.trials is not None and trials_left is not None else 0
    dispatch = dispatch_for(
        cfg,
        p.task,
        Stage.SEARCH,
        cfg.fidelity,
        False,
        cfg.budget.trials,
        already_done=done,
        time_left=time_left,
        scheduler=make_scheduler(cfg.scheduler, cfg.fidelity.epochs),
        supernet=supernet,
    )
    run_trials(searcher, recorder, dispatch, console)
    searcher.abandon(STOPPED_WHILE_RUNNING)
    if recorder.stop.asked:
        return recorder.stop.reason
    if searcher.finished_note:
        console.print(f"search finished early: {searcher.finished_note}")
    if searcher.stopped_reason:
        console.print(f"[red]search stopped: {searcher.stopped_reason}[/red]")
        return searcher.stopped_reason
    if recorder.consecutive_failures >= cfg.max_consecutive_failures:
        reason = (
            f"{recorder.consecutive_failures} trials failed in a row; the last failure reasons are in "
            f"`nasbench status {cfg.name}`"
        )
        console.print(f"[red]search stopped: {reason}[/red]")
        return reason
    return None


def _final(p: Prepared, ledger: Ledger, stored: StoredStudy, recorder: StudyRecorder, console: Console) -> None:
    """Re-train the chosen searched architectures (``final_selection``) at final fidelity, with test."""
    from nasbench.search.searcher import ListSearcher

    cfg = p.config
    assert cfg.final is not None
    searched = ledger.trials(
        stored.study_id, stage=Stage.SEARCH, family=Family.SEARCHED, states=(TrialState.COMPLETE, TrialState.PRUNED)
    )
    finals = ledger.trials(stored.study_id, stage=Stage.FINAL, family=Family.SEARCHED)
    plan = final_jobs(searched, finals, cfg.final, p.task.shape, cfg.seed)
    if not plan.jobs:
        return
    if plan.again:
        numbers = ", ".join(str(n) for n in plan.again)
        console.print(f"trial(s) {numbers}: their final training was under another final protocol; training them again")
    console.print(describe_final(len(plan.chosen), cfg.final))
    run_trials(
        ListSearcher(plan.jobs, recorder),
        recorder,
        dispatch_for(cfg, p.task, Stage.FINAL, cfg.final.fidelity, True, len(plan.jobs)),
        console,
    )


def _baselines(p: Prepared, ledger: Ledger, stored: StoredStudy, console: Console) -> None:
    """Train the study's baselines under its final protocol (those not complete yet)."""
    from nasbench.search.baseline import baseline_fidelity, train_baselines

    train_baselines(p.task, ledger, stored, list(p.config.baselines), baseline_fidelity(p.config, None), console)
