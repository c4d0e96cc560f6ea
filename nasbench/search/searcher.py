"""Ray Tune Searchers: one backed by an Optuna study (persisted in the results database), one
handing out a fixed list of requests (final re-training, baselines).

``OptunaNasSearcher.suggest`` asks Optuna for a trial, samples an Architecture define-by-run,
and rejects infeasible ones before any training: they are recorded with their reason and told
to Optuna as complete with the worst objective values and a positive constraint, so samplers
that read constraints (TPE, GP, NSGA-II) and evolution learn to avoid them. Finished trials are
told to Optuna as complete, pruned (stopped early by the scheduler) or failed.

The trial budget is kept here rather than in Tune's ``num_samples``: a trial the worker finds
too slow for the latency constraint is infeasible and must not use up the budget, so the
searcher hands out a replacement and finishes only when the budget's trials have trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState as OptunaState
from ray.tune.search import Searcher

from nasbench.core.enums import EvaluatorKind, Stage, TrialState
from nasbench.data.spec import DataShape
from nasbench.measure.counts import count_figures
from nasbench.search.ledger import TrialEnd, TrialStart
from nasbench.search.messages import ReportKind, TrialRequest, WorkerReport, outcome
from nasbench.search.recorder import StudyRecorder
from nasbench.search.samplers import CONSTRAINTS_ATTR
from nasbench.space.architecture import Architecture
from nasbench.space.sample import infeasibility, sample_architecture
from nasbench.space.spec import SpaceSpec
from nasbench.train.evaluate import Candidate, Scores
from nasbench.train.recipe import Fidelity

WORST = {"val_acc": 0.0, "params": 1e12, "flops": 1e18, "latency_ms": 1e9}


def measure_on_meta(arch: Architecture, shape: DataShape, resolution: int | None) -> tuple[int, int]:
    """Exact params and FLOPs (batch 1) without allocating weights."""
    return count_figures(arch, shape.in_channels, shape.spatial(resolution), shape.num_classes)


def check_candidate(
    arch: Architecture, shape: DataShape, resolution: int | None, constraints: dict[str, float]
) -> tuple[dict[str, float], str | None]:
    """Params and FLOPs of ``arch``, and why it cannot be trained (None if it can)."""
    reason = infeasibility(arch, shape.spatial(resolution))
    if reason is not None:
        return {}, reason
    try:
        params, flops = measure_on_meta(arch, shape, resolution)
    except Exception as exc:
        return {}, f"cannot be built: {exc}"
    measures: dict[str, float] = {"params": params, "flops": flops}
    for key, limit in constraints.items():
        if key in measures and measures[key] > limit:
            return measures, f"{key} {measures[key]:,.0f} exceeds the constraint {limit:,.0f}"
    return measures, None


@dataclass(frozen=True)
class SearchPlan:
    """What one search run samples and under which rules; the searcher takes nothing else."""

    space: SpaceSpec
    shape: DataShape
    objectives: tuple[str, ...]
    constraints: dict[str, float]
    fidelity: Fidelity
    seed: int
    budget: int | None  # trials still to train in this run (None: until the time budget ends)
    evaluator: EvaluatorKind = EvaluatorKind.SCRATCH
    max_infeasible: int = 100  # samples in a row rejected before training: the space is unfit
    max_slow: int = 5  # candidates in a row found over the latency constraint on the workers
    max_duplicates: int = 50  # proposals in a row of already evaluated architectures: exhausted


@dataclass(frozen=True)
class Known:
    """What became of an architecture already handed out in this study (at the study's fidelity)."""

    number: int
    state: TrialState  # running, complete, pruned or infeasible


def set_feasibility(ot: optuna.Trial, feasible: bool) -> None:
    """Record whether the trial met the study's constraints, in the form every Optuna tool reads.

    Optuna's samplers read both its constraint formats; optuna-dashboard (0.21) shows only the
    list under ``constraints``, so that is the one written: a dashboard then shows an infeasible
    candidate as infeasible, not as a completed trial that scored 0.
    """
    ot.storage.set_trial_system_attr(ot._trial_id, CONSTRAINTS_ATTR, [0.0 if feasible else 1.0])


def describe(ot: optuna.Trial, arch: Architecture, measures: dict[str, float]) -> None:
    """What a user of Optuna's own tools sees of a candidate: its canonical name, params and FLOPs."""
    ot.set_user_attr("architecture", arch.summary())
    for key in ("params", "flops"):
        if key in measures:
            ot.set_user_attr(key, int(measures[key]))


def tell_infeasible(study: optuna.Study, ot: optuna.Trial, objectives: tuple[str, ...], reason: str) -> None:
    ot.set_user_attr("infeasible", reason)
    set_feasibility(ot, False)
    study.tell(ot, [WORST[o] for o in objectives])


def tell_known(study: optuna.Study, ot: optuna.Trial, known: Known) -> None:
    """Close a repeated proposal without training it again. Optuna already holds the first
    evaluation, so the repeat is failed (samplers skip failed trials) rather than told the same
    values: the study keeps one completed trial per architecture, as the store does."""
    ot.set_user_attr("duplicate_of", known.number)
    study.tell(ot, state=OptunaState.FAIL)


def objective_values(values: dict[str, float | None], objectives: tuple[str, ...]) -> list[float]:
    return [float(v) if (v := values.get(o)) is not None else WORST[o] for o in objectives]


def evaluated_in_store(recorder: StudyRecorder) -> dict[str, Known]:
    """Completed and pruned search trials of the study, by digest (a resumed search must not repeat them)."""
    done = recorder.ledger.trials(
        recorder.study_id, stage=Stage.SEARCH, states=(TrialState.COMPLETE, TrialState.PRUNED)
    )
    out: dict[str, Known] = {}
    for t in sorted(done, key=lambda t: t.number):
        if t.digest is not None and t.digest not in out:
            out[t.digest] = Known(t.number, t.state)
    return out


class OptunaNasSearcher(Searcher):
    def __init__(self, plan: SearchPlan, study: optuna.Study, recorder: StudyRecorder) -> None:
        super().__init__(metric="val_acc", mode="max")
        self.plan, self.study, self.recorder = plan, study, recorder
        self.counted = 0  # handed-out trials that count towards the budget
        self.slow_streak = 0  # trials in a row the worker found over the latency constraint
        self.trials: dict[str, tuple[optuna.Trial, dict[str, float], str]] = {}  # Tune id -> (trial, measures, digest)
        self.evaluated: dict[str, Known] | None = None  # loaded from the store on first use
        self._last_step: dict[int, int] = {}  # Optuna trial number -> last epoch reported to it
        self.stopped_reason: str | None = None
        self.finished_note: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its searcher for its own records; the Optuna study lives in the database.
        return {k: v for k, v in self.__dict__.items() if k not in ("study", "trials", "evaluated")}

    # Ray annotates suggest as giving Optional[Dict], though its protocol takes Searcher.FINISHED (a str) too.
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        plan = self.plan
        if self.stopped_reason or self.finished_note or self.recorder.stop.asked:
            return Searcher.FINISHED
        if plan.budget is not None and self.counted >= plan.budget:
            # Running trials may still turn out infeasible in the worker and need a replacement.
            return None if self.trials else Searcher.FINISHED
        evaluated = self._evaluated()
        duplicates = 0
        for _ in range(plan.max_infeasible):
            ot = self.study.ask()
            arch = sample_architecture(ot, plan.space)
            known = evaluated.get(arch.digest())
            if known is not None:
                # Training an architecture twice at one fidelity teaches nothing: its first evaluation
                # stands, and nothing is trained or counted.
                tell_known(self.study, ot, known)
                duplicates += 1
                if duplicates >= plan.max_duplicates:
                    return self._exhausted()
                continue
            resolution = plan.fidelity.resolution or arch.resolution
            measures, reason = check_candidate(arch, plan.shape, resolution, plan.constraints)
            describe(ot, arch, measures)
            start = TrialStart(
                Stage.SEARCH,
                ot.number,
                arch.summary(),
                plan.seed,
                plan.fidelity,
                evaluator=plan.evaluator,
                arch=arch,
                params=_int(measures.get("params")),
                flops=_int(measures.get("flops")),
            )
            if reason is None:
                self.recorder.start(start)
                self.trials[trial_id] = (ot, measures, arch.digest())
                evaluated[arch.digest()] = Known(ot.number, TrialState.RUNNING)
                self.counted += 1
                return TrialRequest(
                    Stage.SEARCH, ot.number, plan.seed, Candidate(arch=arch), start.params, start.flops
                ).config()
            self.recorder.start(_infeasible(start, reason))
            tell_infeasible(self.study, ot, plan.objectives, reason)
        self.stopped_reason = (
            f"{plan.max_infeasible} samples in a row were infeasible; "
            "the space or the constraints leave nothing to train"
        )
        return Searcher.FINISHED

    def _exhausted(self) -> str | None:
        if self.trials:
            return None  # wait: the running trials' results will move the sampler elsewhere
        # Not a failure: the search ends normally (and the final stage runs) with this note.
        self.finished_note = (
            f"the sampler proposed {self.plan.max_duplicates} already evaluated architectures "
            "in a row: the space looks exhausted"
        )
        return Searcher.FINISHED

    def _evaluated(self) -> dict[str, Known]:
        if self.evaluated is None:
            self.evaluated = evaluated_in_store(self.recorder)
        return self.evaluated

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id not in self.trials:
            return
        ot, measures, digest = self.trials.pop(trial_id)
        try:
            self._end(ot, WorkerReport.of(result), error, bool((result or {}).get("done")), measures, digest)
        finally:
            self._last_step.pop(ot.number, None)

    def _end(
        self,
        ot: optuna.Trial,
        report: WorkerReport | None,
        error: bool,
        done: bool,
        measures: dict[str, float],
        digest: str,
    ) -> None:
        """Tell Optuna how the trial ended, and remember its architecture's outcome."""
        state, reason = outcome(report, error, done, self.plan.fidelity.epochs)
        if self.recorder.stop.asked and state in (TrialState.FAILED, TrialState.INTERRUPTED):
            # Cut short by the stop (a signal reaches the workers too): left running in Optuna, so
            # that resuming the study re-queues it as after a killed driver.
            self._remember(digest, ot.number, TrialState.INTERRUPTED)
            return
        self._remember(digest, ot.number, state)
        self.slow_streak = self.slow_streak + 1 if state == TrialState.INFEASIBLE else 0
        if state == TrialState.INFEASIBLE:
            self.counted -= 1
            tell_infeasible(self.study, ot, self.plan.objectives, reason or "infeasible")
            if self.slow_streak >= self.plan.max_slow:
                self.stopped_reason = (
                    f"{self.slow_streak} candidates in a row, measured on the workers, "
                    f"exceeded the latency constraint (last: {reason}); relax it or "
                    "choose a space of smaller networks"
                )
        elif state == TrialState.PRUNED:
            # Optuna records a pruned trial with its last intermediate value and step (samplers
            # rank it by them): the epoch the scheduler stopped it at must be among them.
            self._report_epoch(ot, report)
            self.study.tell(ot, state=OptunaState.PRUNED)
        elif state == TrialState.COMPLETE:
            assert report is not None
            self._report_epoch(ot, report)  # a scheduler's last epoch comes here, not to on_trial_result
            set_feasibility(ot, True)
            if report.latency_ms is not None:
                ot.set_user_attr("latency_ms", report.latency_ms)
            values = {**measures, "val_acc": final_scores(report).val_acc, "latency_ms": report.latency_ms}
            self.study.tell(ot, objective_values(values, self.plan.objectives))
        else:
            ot.set_user_attr("failure" if state == TrialState.FAILED else "interrupted", reason)
            self.study.tell(ot, state=OptunaState.FAIL)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Each epoch's validation accuracy becomes an intermediate value of the Optuna trial, so
        Optuna's tools show learning curves (Optuna keeps them for single-objective studies only)."""
        entry = self.trials.get(trial_id)
        if entry is not None:
            self._report_epoch(entry[0], WorkerReport.of(result))

    def _report_epoch(self, ot: optuna.Trial, report: WorkerReport | None) -> None:
        """An epoch's validation accuracy as an intermediate value, once per step (Optuna keeps
        them for single-objective studies only). When a scheduler stops a trial, Tune hands its
        last result to on_trial_complete instead of on_trial_result."""
        if report is None or report.kind != ReportKind.EPOCH or len(self.study.directions) > 1:
            return
        metrics = report.metrics
        if metrics is None or metrics.val_acc is None:
            return
        if metrics.epoch > self._last_step.get(ot.number, -1):  # epochs arrive in order
            self._last_step[ot.number] = metrics.epoch
            ot.report(metrics.val_acc, step=metrics.epoch)

    def _remember(self, digest: str, number: int, state: TrialState) -> None:
        evaluated = self._evaluated()
        if state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.INFEASIBLE):
            evaluated[digest] = Known(number, state)
        else:
            evaluated.pop(digest, None)  # a failure may be transient (memory): the architecture may return

    def abandon(self, reason: str) -> None:
        """Fail in Optuna the trials Tune stopped without telling the searcher (end of budget, failure limit).

        After a stop asked from outside they stay running in Optuna: resuming re-queues them.
        """
        if self.recorder.stop.asked:
            self.trials.clear()
            return
        for ot, _, _ in self.trials.values():
            ot.set_user_attr("interrupted", reason)
            self.study.tell(ot, state=OptunaState.FAIL)
        self.trials.clear()


def final_scores(report: WorkerReport) -> Scores:
    """The scores a trial ended with: its evaluation's, or its last epoch's validation figures."""
    if report.evaluation is not None:
        return report.evaluation.scores
    m = report.metrics
    return Scores(val_acc=m.val_acc, val_loss=m.val_loss) if m is not None else Scores()


def _infeasible(start: TrialStart, reason: str) -> TrialStart:
    from dataclasses import replace

    return replace(start, state=TrialState.INFEASIBLE, failure_reason=reason)


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Job:
    """One network of a fixed list, with its row in the store."""

    request: TrialRequest
    start: TrialStart


class ListSearcher(Searcher):
    """Hands out a fixed list of networks (final re-training, baselines)."""

    def __init__(self, jobs: list[Job], recorder: StudyRecorder) -> None:
        super().__init__(metric="val_acc", mode="max")
        self.jobs, self.recorder = list(jobs), recorder

    # Ray annotates suggest as giving Optional[Dict], though its protocol takes Searcher.FINISHED (a str) too.
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        if not self.jobs or self.recorder.stop.asked:
            return Searcher.FINISHED
        job = self.jobs.pop(0)
        self.recorder.start(job.start)
        return job.request.config()

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        pass


def end_of(report: WorkerReport | None, state: TrialState, reason: str | None) -> TrialEnd:
    """A trial's stored ending from its last report."""
    if report is None:
        return TrialEnd(state, failure_reason=reason)
    return TrialEnd(
        state=state,
        scores=final_scores(report),
        latency_ms=report.latency_ms,
        train_time_s=report.elapsed_s,
        worker=report.worker,
        failure_reason=reason,
        traceback=report.traceback,
    )
