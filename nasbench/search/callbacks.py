"""Driver-side Ray Tune hooks: write every result to the store, show progress, stop on failures."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ray.tune import Callback, Stopper
from rich.console import Console

from nasbench.core.enums import Stage, TrialState
from nasbench.search.messages import ReportKind, TrialRequest, WorkerReport, clip_traceback, outcome
from nasbench.search.recorder import StudyRecorder
from nasbench.search.searcher import end_of


class StoreCallback(Callback):
    """Writes epochs and final states; prints one progress line per finished trial."""

    def __init__(
        self,
        recorder: StudyRecorder,
        epochs: int,
        total: int | None,
        console: Console,
        stage: Stage = Stage.SEARCH,
        already_done: int = 0,
    ) -> None:
        self.recorder, self.epochs, self.total, self.console = recorder, epochs, total, console
        self.stage, self.done = stage, already_done
        self.ended: dict[int, TrialState] = {}  # each finished trial's state, by number
        self.t0 = time.perf_counter()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "console"}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        report = WorkerReport.of(result)
        if report is not None and report.kind == ReportKind.EPOCH:
            self.recorder.epoch(self.stage, TrialRequest.of(trial.config).number, report)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, error=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, error=True)

    def _finish(self, trial: Any, error: bool) -> None:
        request = TrialRequest.of(trial.config)
        result = trial.last_result or {}
        report = WorkerReport.of(result)
        state, reason = outcome(report, error, bool(result.get("done")), self.epochs)
        if self.recorder.stop.asked and state == TrialState.FAILED:
            state, reason, report = TrialState.INTERRUPTED, self.recorder.stop.trial_reason, None
        end = end_of(report, state, reason)
        if state == TrialState.FAILED and end.traceback is None:
            end = replace(end, traceback=_error_text(trial))
        self.recorder.finish(self.stage, request.number, end)
        self.ended[request.number] = state
        if state != TrialState.INFEASIBLE:  # the worker's latency check: a replacement is handed out
            self.done += 1
        self._print(request.label, state, end.scores.val_acc, end.scores.test_acc, reason)

    def _print(
        self, label: str, state: TrialState, val_acc: float | None, test_acc: float | None, reason: str | None
    ) -> None:
        elapsed = time.perf_counter() - self.t0
        of = f"/{self.total}" if self.total else ""
        best = self.recorder.best_val_acc
        detail = f"val_acc {val_acc:.4f}" if state != TrialState.FAILED and val_acc is not None else ""
        if state in (TrialState.FAILED, TrialState.INFEASIBLE, TrialState.INTERRUPTED):
            detail = f"[red]{reason}[/red]"
        if test_acc is not None:
            detail += f"  test_acc {test_acc:.4f}"
        best_text = f"best val_acc {best:.4f}" if best is not None else "best val_acc -"
        self.console.print(
            f"[{self.done}{of}] {self.stage} {label} {state:<8} {detail}  |  {best_text}  |  {elapsed:6.1f}s elapsed",
            highlight=False,
            soft_wrap=True,
        )


def _error_text(trial: Any) -> str | None:
    path = getattr(trial, "error_file", None)
    if not path:
        return None
    try:
        with open(path) as f:
            return clip_traceback(f.read())
    except (OSError, TypeError):
        return None


class FailureStopper(Stopper):
    """Stops the whole search after ``limit`` consecutive failed trials, or when asked from outside."""

    def __init__(self, recorder: StudyRecorder, limit: int) -> None:
        self.recorder, self.limit = recorder, limit

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.recorder.stop.asked or self.recorder.consecutive_failures >= self.limit
