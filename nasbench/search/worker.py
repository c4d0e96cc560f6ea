"""The function Ray Tune runs on a worker: evaluate one candidate and report as it goes.

It never raises for a trial's own failure: divergence, out-of-memory or any exception becomes a
``failed`` report with its reason and traceback, so the driver records it and the search goes
on. A candidate the evaluator finds unfit before training (slower than the study's latency
constraint: latency is a property of the worker's hardware, so it is measured there) becomes an
``infeasible`` report.
"""

from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass

from nasbench.search.messages import ReportKind, TrialRequest, WorkerReport, clip_traceback
from nasbench.train.curves import CurveLogging, TrialRun, trial_run
from nasbench.train.evaluate import Evaluation, Evaluator, Infeasible, failure_reason
from nasbench.train.metrics import EpochMetrics
from nasbench.train.recipe import Fidelity


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of one Tune run shares (sent once through Ray's object store)."""

    evaluator: Evaluator
    fidelity: Fidelity
    test: bool  # evaluate on the test split too (final trainings and baselines only)
    study: str = ""
    logging: CurveLogging | None = None  # the study's logger (its dir resolved on the driver)

    def run_of(self, request: TrialRequest) -> TrialRun | None:
        """The trial's run in the study's logger, when it has one."""
        if self.logging is None:
            return None
        return trial_run(
            self.logging,
            self.study,
            request.stage,
            request.number,
            request.candidate.name,
            zoo=request.candidate.zoo is not None,
            seed=request.seed,
            fidelity=self.fidelity,
            params=request.params,
            flops=request.flops,
        )


def worker_name() -> str:
    """Host and Ray node: several nodes can share one host (and a host name)."""
    import ray

    node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    return f"{socket.gethostname()} ({node[:8]})" if node else socket.gethostname()


class _Reporter:
    """Sends each epoch to Tune as the evaluator reaches it (the evaluator's ``Listener``)."""

    def __init__(self) -> None:
        self.worker = worker_name()
        self.t0 = time.perf_counter()
        self.epoch_no = 0
        self.latency_ms: float | None = None

    def started(self, latency_ms: float | None) -> None:
        self.latency_ms = latency_ms

    def epoch(self, metrics: EpochMetrics) -> None:
        self.epoch_no = metrics.epoch
        self.send(ReportKind.EPOCH, metrics=metrics)

    def send(
        self,
        kind: ReportKind,
        *,
        epoch: int | None = None,
        metrics: EpochMetrics | None = None,
        evaluation: Evaluation | None = None,
        reason: str | None = None,
        trace: str | None = None,
    ) -> None:
        from ray import tune

        report = WorkerReport(
            kind=kind,
            epoch=self.epoch_no if epoch is None else epoch,
            worker=self.worker,
            elapsed_s=time.perf_counter() - self.t0,
            latency_ms=self.latency_ms,
            metrics=metrics,
            evaluation=evaluation,
            reason=reason,
            traceback=trace,
        )
        tune.report(report.result())


def run_trial(config: dict, settings: TrialSettings) -> None:
    """Ray Tune's function trainable: one candidate at the run's fidelity."""
    request = TrialRequest.of(config)
    reporter = _Reporter()
    try:
        evaluation = settings.evaluator.evaluate(
            request.candidate,
            settings.fidelity,
            request.seed,
            test=settings.test,
            listener=reporter,
            run=settings.run_of(request),
        )
    except Infeasible as exc:
        reporter.latency_ms = exc.latency_ms
        reporter.send(ReportKind.INFEASIBLE, reason=str(exc))
        return
    except Exception as exc:
        reporter.send(
            ReportKind.FAILED,
            reason=failure_reason(exc),
            trace=clip_traceback("".join(traceback.format_exception(exc))),
        )
        return
    reporter.send(ReportKind.FINAL, epoch=evaluation.epochs, evaluation=evaluation)
