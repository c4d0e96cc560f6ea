"""A Ray Tune Searcher backed by an Optuna study (persisted in the results database).

``suggest`` asks Optuna for a trial, samples an Architecture define-by-run, and rejects
infeasible ones before any training: they are recorded with their reason and told to Optuna as
complete with the worst objective values and a positive constraint, so samplers that read
constraints (TPE, GP, NSGA-II) and evolution learn to avoid them. Finished trials are told to
Optuna as complete, pruned (stopped early by the scheduler) or failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import optuna
import torch
from optuna.trial import TrialState
from ray.tune.search import Searcher

from nasbench.measure.counts import count_flops, count_params
from nasbench.nn.builder import build_network
from nasbench.search.recorder import StudyRecorder
from nasbench.search.samplers import CONSTRAINT_KEY
from nasbench.space.architecture import Architecture
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


def measure_on_meta(arch: Architecture, shape: DataShape, resolution: int | None) -> tuple[int, int]:
    """Exact params and FLOPs (batch 1) without allocating weights."""
    with torch.device("meta"):
        model = build_network(arch, shape.in_channels, shape.num_classes, shape.ndim)
    size = shape.input_size if resolution is None else (resolution,) * shape.ndim
    return count_params(model), count_flops(model, (1, shape.in_channels, *size))


def outcome(result: dict[str, Any] | None, error: bool, epochs: int) -> tuple[str, str | None]:
    """Final state of a trial from its last result: complete, pruned or failed (with reason)."""
    if error:
        return "failed", "the trial's worker process crashed"
    if not result:
        return "failed", "the trial reported no result"
    if result.get("failed"):
        return "failed", str(result["failed"])
    if int(result.get("epoch", 0)) < epochs:
        return "pruned", None
    return "complete", None


class OptunaNasSearcher(Searcher):
    def __init__(self, study: optuna.Study, space: SpaceSpec, shape: DataShape, recorder: StudyRecorder,
                 objectives: list[str], constraints: dict[str, float], fidelity: dict[str, Any],
                 epochs: int, seed: int, resolution: int | None, max_infeasible: int = 500) -> None:
        super().__init__(metric="val_acc", mode="max")
        self.study, self.space, self.shape, self.recorder = study, space, shape, recorder
        self.objectives, self.constraints = objectives, constraints
        self.fidelity, self.epochs, self.seed, self.resolution = fidelity, epochs, seed, resolution
        self.max_infeasible = max_infeasible
        self.trials: dict[str, tuple[optuna.Trial, dict[str, float]]] = {}
        self.infeasible_streak = 0
        self.stopped_reason: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its searcher for its own records; the Optuna study lives in the database.
        return {k: v for k, v in self.__dict__.items() if k not in ("study", "trials")}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        for _ in range(self.max_infeasible):
            ot = self.study.ask()
            arch = sample_architecture(ot, self.space)
            resolution = self.resolution or arch.resolution
            reason = infeasibility(arch, self.shape.input_size if resolution is None else (resolution,) * self.shape.ndim)
            measures: dict[str, float] = {}
            if reason is None:
                try:
                    params, flops = measure_on_meta(arch, self.shape, resolution)
                except Exception as exc:  # noqa: BLE001 — an unbuildable sample is infeasible
                    reason = f"cannot be built: {exc}"
                else:
                    measures = {"params": params, "flops": flops}
                    reason = self._violation(measures)
            if reason is None:
                self.infeasible_streak = 0
                self.recorder.start(ot.number, arch, self.seed, self.fidelity, measures["params"], measures["flops"])
                self.trials[trial_id] = (ot, measures)
                return {"arch": arch.to_json(), "number": ot.number, "seed": self.seed}
            self._reject(ot, arch, reason, measures)
        self.stopped_reason = (f"{self.max_infeasible} samples in a row were infeasible; "
                               "the space or the constraints leave nothing to train")
        return Searcher.FINISHED

    def _violation(self, measures: dict[str, float]) -> str | None:
        for key, limit in self.constraints.items():
            if key in measures and measures[key] > limit:
                return f"{key} {measures[key]:,.0f} exceeds the constraint {limit:,.0f}"
        return None

    def _reject(self, ot: optuna.Trial, arch: Architecture, reason: str, measures: dict[str, float]) -> None:
        self.recorder.infeasible(ot.number, arch, self.seed, self.fidelity, reason,
                                 params=measures.get("params"), flops=measures.get("flops"))
        ot.set_user_attr("infeasible", reason)
        ot.set_constraint(CONSTRAINT_KEY, 1.0)
        self.study.tell(ot, [WORST[o] for o in self.objectives])

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id not in self.trials or len(self.objectives) > 1:
            return
        val = result.get("val_acc")
        if val is not None and math.isfinite(val) and not result.get("final_report"):
            self.trials[trial_id][0].report(float(val), int(result.get("epoch", 0)))

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id not in self.trials:
            return
        ot, measures = self.trials.pop(trial_id)
        state, reason = outcome(result, error, self.epochs)
        if state == "failed":
            ot.set_user_attr("failure", reason)
            self.study.tell(ot, state=TrialState.FAIL)
        elif state == "pruned":
            self.study.tell(ot, state=TrialState.PRUNED)
        else:
            ot.set_constraint(CONSTRAINT_KEY, 0.0)
            values = {**measures, "val_acc": float(result["val_acc"]), "latency_ms": result.get("latency_ms")}
            self.study.tell(ot, [values[o] if values.get(o) is not None else WORST[o] for o in self.objectives])


class ListSearcher(Searcher):
    """Hands out a fixed list of architectures (final re-training, baselines)."""

    def __init__(self, items: list[tuple[int, Architecture]], recorder: StudyRecorder, seed: int,
                 fidelity: dict[str, Any], shape: DataShape, stage: str = "final") -> None:
        super().__init__(metric="val_acc", mode="max")
        self.items, self.recorder, self.seed = list(items), recorder, seed
        self.fidelity, self.shape, self.stage = fidelity, shape, stage

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self.items:
            return Searcher.FINISHED
        number, arch = self.items.pop(0)
        params, flops = measure_on_meta(arch, self.shape, self.fidelity.get("resolution") or arch.resolution)
        self.recorder.start(number, arch, self.seed, self.fidelity, params, flops, stage=self.stage)
        return {"arch": arch.to_json(), "number": number, "seed": self.seed}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        pass
