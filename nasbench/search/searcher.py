"""Ray Tune Searchers: one backed by an Optuna study (persisted in the results database), one
handing out a fixed list of networks (final re-training, baselines).

``OptunaNasSearcher.suggest`` asks Optuna for a trial, samples an Architecture define-by-run,
and rejects infeasible ones before any training: they are recorded with their reason and told
to Optuna as complete with the worst objective values and a positive constraint, so samplers
that read constraints (TPE, GP, NSGA-II) and evolution learn to avoid them. Finished trials are
told to Optuna as complete, pruned (stopped early by the scheduler) or failed.

Learning curves go to the results store only (``nb_epochs``); Optuna gets each trial's final
values, which is all its samplers read, and Tune's scheduler does the early stopping.

The trial budget is kept here rather than in Tune's ``num_samples``: a trial the worker finds
too slow for the latency constraint is infeasible and must not use up the budget, so the
searcher hands out a replacement and finishes only when the budget's trials have trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune.search import Searcher

from nasbench.search.recorder import StudyRecorder
from nasbench.search.samplers import CONSTRAINT_KEY
from nasbench.space.architecture import Architecture
from nasbench.measure.counts import count_figures
from nasbench.space.sample import infeasibility, sample_architecture
from nasbench.space.spec import SpaceSpec

WORST = {"val_acc": 0.0, "params": 1e12, "flops": 1e18, "latency_ms": 1e9}


@dataclass(frozen=True)
class DataShape:
    in_channels: int
    num_classes: int
    input_size: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    def spatial(self, resolution: int | None) -> tuple[int, ...]:
        return self.input_size if resolution is None else (resolution,) * self.ndim


def measure_on_meta(arch: Architecture, shape: DataShape, resolution: int | None) -> tuple[int, int]:
    """Exact params and FLOPs (batch 1) without allocating weights."""
    return count_figures(arch, shape.in_channels, shape.spatial(resolution), shape.num_classes)


def check_candidate(arch: Architecture, shape: DataShape, resolution: int | None,
                    constraints: dict[str, float]) -> tuple[dict[str, float], str | None]:
    """Params and FLOPs of ``arch``, and why it cannot be trained (None if it can)."""
    reason = infeasibility(arch, shape.spatial(resolution))
    if reason is not None:
        return {}, reason
    try:
        params, flops = measure_on_meta(arch, shape, resolution)
    except Exception as exc:  # noqa: BLE001 — an unbuildable sample is infeasible, not a crash
        return {}, f"cannot be built: {exc}"
    measures = {"params": params, "flops": flops}
    for key, limit in constraints.items():
        if key in measures and measures[key] > limit:
            return measures, f"{key} {measures[key]:,.0f} exceeds the constraint {limit:,.0f}"
    return measures, None


def outcome(result: dict[str, Any] | None, error: bool, epochs: int) -> tuple[str, str | None]:
    """Final state of a trial from its last result, with the reason when it did not complete.

    A trial short of its epochs was pruned if the scheduler stopped it (Tune marks that result
    ``done``), else the search ended around it (time budget, failure limit): interrupted.
    """
    if error:
        return "failed", "the trial's worker process crashed"
    if not result:
        return "interrupted", "the search ended before this trial ran"
    if result.get("failed"):
        return "failed", str(result["failed"])
    if result.get("infeasible"):
        return "infeasible", str(result["infeasible"])
    epoch = int(result.get("epoch", 0))
    if epoch < epochs:
        if result.get("done"):
            return "pruned", None
        return "interrupted", f"the search ended while this trial ran (after epoch {epoch} of {epochs})"
    return "complete", None


def tell_infeasible(study: optuna.Study, ot: optuna.Trial, objectives: list[str], reason: str) -> None:
    ot.set_user_attr("infeasible", reason)
    ot.set_constraint(CONSTRAINT_KEY, 1.0)
    study.tell(ot, [WORST[o] for o in objectives])


@dataclass(frozen=True)
class Known:
    """What became of an architecture already handed out in this study (at the study's fidelity)."""

    number: int
    state: str  # running, complete, pruned or infeasible


Evaluated = dict[str, Known]  # architecture digest -> its first evaluation


def objective_values(values: dict[str, Any], objectives: list[str]) -> list[float]:
    return [float(values[o]) if values.get(o) is not None else WORST[o] for o in objectives]


def evaluated_in_store(recorder: StudyRecorder) -> Evaluated:
    """Completed and pruned search trials of the study (a resumed search must not repeat them)."""
    from nasbench.store import records

    df = records.load_trials(recorder.engine, recorder.study_name)
    df = df[(df["stage"] == "search") & df["state"].isin(["complete", "pruned"])].sort_values("number")
    out: Evaluated = {}
    for row in df.to_dict("records"):
        if row["digest"] and row["digest"] not in out:
            out[row["digest"]] = Known(int(row["number"]), row["state"])
    return out


def tell_known(study: optuna.Study, ot: optuna.Trial, known: Known) -> None:
    """Close a repeated proposal without training it again. Optuna already holds the first
    evaluation, so the repeat is failed (samplers skip failed trials) rather than told the same
    values: the study keeps one completed trial per architecture, as the store does."""
    ot.set_user_attr("duplicate_of", known.number)
    study.tell(ot, state=TrialState.FAIL)


class OptunaNasSearcher(Searcher):
    def __init__(self, study: optuna.Study, space: SpaceSpec, shape: DataShape, recorder: StudyRecorder,
                 objectives: list[str], constraints: dict[str, float], fidelity: dict[str, Any],
                 epochs: int, seed: int, resolution: int | None, budget: int | None,
                 max_infeasible: int = 500, max_slow: int = 5, max_duplicates: int = 50) -> None:
        super().__init__(metric="val_acc", mode="max")
        self.study, self.space, self.shape, self.recorder = study, space, shape, recorder
        self.objectives, self.constraints = objectives, constraints
        self.fidelity, self.epochs, self.seed, self.resolution = fidelity, epochs, seed, resolution
        self.budget, self.max_infeasible, self.max_slow = budget, max_infeasible, max_slow
        self.max_duplicates = max_duplicates
        self.counted = 0  # handed-out trials that count towards the budget
        self.slow_streak = 0  # trials in a row the worker found over the latency constraint
        self.trials: dict[str, tuple[optuna.Trial, dict[str, float]]] = {}
        self.digests: dict[str, str] = {}  # Tune trial id -> architecture digest
        self.evaluated: Evaluated | None = None  # loaded from the store on first use
        self.stopped_reason: str | None = None
        self.finished_note: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its searcher for its own records; the Optuna study lives in the database.
        return {k: v for k, v in self.__dict__.items() if k not in ("study", "trials", "evaluated")}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.stopped_reason or self.finished_note:
            return Searcher.FINISHED
        if self.budget is not None and self.counted >= self.budget:
            # Running trials may still turn out infeasible in the worker and need a replacement.
            return None if self.trials else Searcher.FINISHED
        evaluated = self._evaluated()
        duplicates = 0
        for _ in range(self.max_infeasible):
            ot = self.study.ask()
            arch = sample_architecture(ot, self.space)
            known = evaluated.get(arch.digest())
            if known is not None:
                # Training an architecture twice at one fidelity teaches nothing: its first evaluation
                # stands, and nothing is trained or counted.
                tell_known(self.study, ot, known)
                duplicates += 1
                if duplicates >= self.max_duplicates:
                    return self._exhausted()
                continue
            measures, reason = check_candidate(arch, self.shape, self.resolution or arch.resolution,
                                               self.constraints)
            if reason is None:
                self.recorder.start(ot.number, arch.summary(), self.seed, self.fidelity, measures["params"],
                                    measures["flops"], arch=arch)
                self.trials[trial_id] = (ot, measures)
                self.digests[trial_id] = arch.digest()
                evaluated[arch.digest()] = Known(ot.number, "running")
                self.counted += 1
                return {"arch": arch.to_json(), "number": ot.number, "seed": self.seed}
            self.recorder.infeasible(ot.number, arch, self.seed, self.fidelity, reason,
                                     params=measures.get("params"), flops=measures.get("flops"))
            tell_infeasible(self.study, ot, self.objectives, reason)
        self.stopped_reason = (f"{self.max_infeasible} samples in a row were infeasible; "
                               "the space or the constraints leave nothing to train")
        return Searcher.FINISHED

    def _exhausted(self) -> dict[str, Any] | None:
        if self.trials:
            return None  # wait: the running trials' results will move the sampler elsewhere
        # Not a failure: the search ends normally (and the final stage runs) with this note.
        self.finished_note = (f"the sampler proposed {self.max_duplicates} already evaluated architectures "
                              "in a row: the space looks exhausted")
        return Searcher.FINISHED

    def _evaluated(self) -> Evaluated:
        if self.evaluated is None:
            self.evaluated = evaluated_in_store(self.recorder)
        return self.evaluated

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id not in self.trials:
            return
        ot, measures = self.trials.pop(trial_id)
        state, reason = outcome(result, error, self.epochs)
        self._remember(self.digests.pop(trial_id), ot.number, state, measures, result)
        self.slow_streak = self.slow_streak + 1 if state == "infeasible" else 0
        if state == "infeasible":
            self.counted -= 1
            tell_infeasible(self.study, ot, self.objectives, reason or "infeasible")
            if self.slow_streak >= self.max_slow:
                self.stopped_reason = (f"{self.slow_streak} candidates in a row, measured on the workers, "
                                       f"exceeded the latency constraint (last: {reason}); relax it or "
                                       "choose a space of smaller networks")
        elif state == "pruned":
            self.study.tell(ot, state=TrialState.PRUNED)
        elif state == "complete":
            ot.set_constraint(CONSTRAINT_KEY, 0.0)
            values = {**measures, "val_acc": float(result["val_acc"]), "latency_ms": result.get("latency_ms")}
            self.study.tell(ot, objective_values(values, self.objectives))
        else:
            ot.set_user_attr("failure" if state == "failed" else "interrupted", reason)
            self.study.tell(ot, state=TrialState.FAIL)

    def _remember(self, digest: str, number: int, state: str, measures: dict[str, float],
                  result: dict[str, Any] | None) -> None:
        evaluated = self._evaluated()
        if state == "complete":
            evaluated[digest] = Known(number, "complete")
        elif state in ("pruned", "infeasible"):
            evaluated[digest] = Known(number, state)
        else:
            evaluated.pop(digest, None)  # a failure may be transient (memory): the architecture may return

    def abandon(self, reason: str) -> None:
        """Fail in Optuna the trials Tune stopped without telling the searcher (end of budget, failure limit)."""
        for ot, _ in self.trials.values():
            ot.set_user_attr("interrupted", reason)
            self.study.tell(ot, state=TrialState.FAIL)
        self.trials.clear()


@dataclass(frozen=True)
class Job:
    """One network of a fixed list: a searched architecture (``arch``) or a zoo model (``zoo``)."""

    number: int
    name: str
    params: int
    flops: int
    arch: Architecture | None = None
    zoo: str | None = None
    family: str = "searched"

    def config(self, seed: int) -> dict[str, Any]:
        network = {"arch": self.arch.to_json()} if self.arch is not None else {"zoo": self.zoo}
        return {**network, "number": self.number, "seed": seed}


class ListSearcher(Searcher):
    """Hands out a fixed list of networks (final re-training, baselines)."""

    def __init__(self, jobs: list[Job], recorder: StudyRecorder, seed: int, fidelity: dict[str, Any],
                 stage: str = "final") -> None:
        super().__init__(metric="val_acc", mode="max")
        self.jobs, self.recorder, self.seed = list(jobs), recorder, seed
        self.fidelity, self.stage = fidelity, stage

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self.jobs:
            return Searcher.FINISHED
        job = self.jobs.pop(0)
        self.recorder.start(job.number, job.name, self.seed, self.fidelity, job.params, job.flops, arch=job.arch,
                            stage=self.stage, family=job.family)
        return job.config(self.seed)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        pass
