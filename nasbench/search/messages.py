"""What the driver and the trial workers tell each other, typed.

The driver hands Ray Tune a ``TrialRequest`` (inside Tune's config dict, under one key); the
worker answers with ``WorkerReport`` values (inside Tune's result dict, under one key, beside the
``epoch`` and ``val_acc`` that Tune's schedulers read). Each side reads the other's dict in one
place (``TrialRequest.of`` and ``WorkerReport.of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nasbench.core.enums import Stage, TrialState
from nasbench.train.evaluate import Candidate, Evaluation
from nasbench.train.metrics import EpochMetrics

REQUEST_KEY = "nasbench_request"
REPORT_KEY = "nasbench_report"


@dataclass(frozen=True)
class TrialRequest:
    """One candidate to evaluate: which trial it is, with which seed."""

    stage: Stage
    number: int
    seed: int
    candidate: Candidate
    params: int | None = None  # measured on the driver: the trial's run in the study's logger names them
    flops: int | None = None

    def config(self) -> dict[str, Any]:
        """Tune's config dict for this request."""
        return {REQUEST_KEY: self}

    @classmethod
    def of(cls, config: dict[str, Any]) -> TrialRequest:
        request = config[REQUEST_KEY]
        assert isinstance(request, TrialRequest), "Tune's config carries the request it was given"
        return request

    @property
    def label(self) -> str:
        return str(self.candidate.zoo) if self.candidate.zoo else f"trial {self.number:>3}"


TRACEBACK_LIMIT = 4000


def clip_traceback(text: str, limit: int = TRACEBACK_LIMIT) -> str:
    """A traceback cut to ``limit`` characters for the store, keeping both ends: its first line
    ("Traceback ...") and the innermost frames with the exception, where the cause is."""
    if len(text) <= limit:
        return text
    head, _, _ = text.partition("\n")
    marker = "\n  ... (frames cut) ...\n"
    return head + marker + text[-(limit - len(head) - len(marker)) :]


class ReportKind(StrEnum):
    EPOCH = "epoch"  # one epoch of training ended
    FINAL = "final"  # training ended; the evaluation (with test figures when asked)
    FAILED = "failed"  # the evaluation raised: its reason and traceback
    INFEASIBLE = "infeasible"  # found unfit on the worker (e.g. latency) before training


@dataclass(frozen=True)
class WorkerReport:
    kind: ReportKind
    epoch: int
    worker: str
    elapsed_s: float
    latency_ms: float | None = None
    metrics: EpochMetrics | None = None  # EPOCH
    evaluation: Evaluation | None = None  # FINAL
    reason: str | None = None  # FAILED, INFEASIBLE
    traceback: str | None = None  # FAILED

    def result(self) -> dict[str, Any]:
        """Tune's result dict: the report, plus what Tune's schedulers and stoppers read."""
        out: dict[str, Any] = {"epoch": self.epoch, REPORT_KEY: self}
        val_acc = (
            self.metrics.val_acc if self.metrics else (self.evaluation.scores.val_acc if self.evaluation else None)
        )
        if val_acc is not None:
            out["val_acc"] = val_acc
        return out

    @classmethod
    def of(cls, result: dict[str, Any] | None) -> WorkerReport | None:
        report = (result or {}).get(REPORT_KEY)
        return report if isinstance(report, WorkerReport) else None


def outcome(
    report: WorkerReport | None, error: bool, stopped_early: bool, epochs: int
) -> tuple[TrialState, str | None]:
    """A trial's final state from its last report, with the reason when it did not complete.

    A trial short of its epochs was pruned if the scheduler stopped it, else the search ended
    around it (time budget, failure limit): interrupted.
    """
    if error:
        return TrialState.FAILED, "the trial's worker process crashed"
    if report is None:
        return TrialState.INTERRUPTED, "the search ended before this trial ran"
    if report.kind == ReportKind.FAILED:
        return TrialState.FAILED, report.reason
    if report.kind == ReportKind.INFEASIBLE:
        return TrialState.INFEASIBLE, report.reason
    if report.kind != ReportKind.FINAL and report.epoch < epochs:
        if stopped_early:
            return TrialState.PRUNED, None
        return (
            TrialState.INTERRUPTED,
            f"the search ended while this trial ran (after epoch {report.epoch} of {epochs})",
        )
    return TrialState.COMPLETE, None
