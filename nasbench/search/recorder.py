"""The driver-side writer of a study's results: the only code that writes trials during a search."""

from __future__ import annotations

import time
from typing import Any

from nasbench.core.enums import Stage, TrialState
from nasbench.search.ledger import Ledger, StoredStudy, TrialEnd, TrialEpoch, TrialStart
from nasbench.search.messages import WorkerReport
from nasbench.search.stop import StopRequest


class StudyRecorder:
    """Writes one study's trials through the ledger; counts consecutive failures for the stop rule.

    Wall time is added to the study as search trials finish (not only at the end), so a driver
    killed mid-search has its time counted against the time budget when the study resumes.
    """

    def __init__(
        self, ledger: Ledger, study: StoredStudy, provenance: dict[str, Any], stop: StopRequest | None = None
    ) -> None:
        self.ledger, self.study_id, self.study_name = ledger, study.study_id, study.name
        self.provenance = provenance
        self.stop = stop or StopRequest()  # asked from outside (signal, lost lease): every hook stops
        self.consecutive_failures = 0
        self.best_val_acc: float | None = None
        self._clock = time.perf_counter()
        self.started: set[tuple[Stage, int]] = set()  # the trials this run started

    def __getstate__(self) -> dict[str, Any]:
        # Ray Tune pickles its configuration (searcher, callbacks) for its own records; the live
        # object keeps its ledger, the pickled copy is a description only.
        return {k: v for k, v in self.__dict__.items() if k != "ledger"}

    def start(self, trial: TrialStart) -> None:
        self.ledger.start_trial(self.study_id, trial, self.provenance)
        if trial.state == TrialState.RUNNING:
            self.started.add((trial.stage, trial.number))

    def epoch(self, stage: Stage, number: int, report: WorkerReport) -> None:
        if report.metrics is not None:
            epoch = TrialEpoch(stage, number, report.metrics, report.worker, report.latency_ms)
            self.ledger.record_epoch(self.study_id, epoch)

    def finish(self, stage: Stage, number: int, end: TrialEnd) -> None:
        if not self.ledger.finish_trial(self.study_id, stage, number, end):
            return
        if stage == Stage.SEARCH:  # the time budget is the search's
            self._add_elapsed("running")
        if end.state == TrialState.FAILED:
            self.consecutive_failures += 1
        elif end.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.consecutive_failures = 0
        val = end.scores.val_acc
        if (
            val is not None
            and end.state == TrialState.COMPLETE
            and (self.best_val_acc is None or val > self.best_val_acc)
        ):
            self.best_val_acc = val

    def interrupt_running(self, stage: Stage, reason: str) -> int:
        """Close the trials of ``stage`` this recorder started that still run (Tune stops live trials
        without callbacks). Trials another process is training (a concurrent `nasbench baseline`) stay."""
        closed = 0
        for t in self.ledger.trials(self.study_id, stage=stage, states=(TrialState.RUNNING,)):
            if (stage, t.number) in self.started:
                closed += self.ledger.finish_trial(
                    self.study_id, stage, t.number, TrialEnd(TrialState.INTERRUPTED, failure_reason=reason)
                )
        return closed

    def mark_running(self) -> None:
        """Show a live search as such in `nasbench status` before its first trial ends."""
        self.ledger.set_status(self.study_id, "running")

    def count_time(self) -> None:
        """Add the wall time spent so far to the study (e.g. after training its supernet)."""
        self._add_elapsed("running")

    def close(self, status: str) -> None:
        """Add the wall time not yet counted and set the study's status."""
        self._add_elapsed(status)

    def _add_elapsed(self, status: str) -> None:
        now = time.perf_counter()
        self.ledger.add_elapsed(self.study_id, now - self._clock, status)
        self._clock = now
