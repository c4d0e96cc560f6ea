"""Driver-side Ray Tune hooks: write every result to the store, show progress, stop on failures."""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback, Stopper
from rich.console import Console

from nasbench.search.recorder import StudyRecorder
from nasbench.search.searcher import outcome


class StoreCallback(Callback):
    """Writes epochs and final states; prints one progress line per finished trial."""

    def __init__(self, recorder: StudyRecorder, epochs: int, total: int | None, console: Console,
                 stage: str = "search", already_done: int = 0) -> None:
        self.recorder, self.epochs, self.total, self.console = recorder, epochs, total, console
        self.stage, self.done = stage, already_done
        self.t0 = time.perf_counter()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "console"}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if "failed" in result or "infeasible" in result or result.get("final_report"):
            return
        self.recorder.epoch(trial.config["number"], result, stage=self.stage)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, error=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, error=True)

    def _finish(self, trial: Any, error: bool) -> None:
        result = trial.last_result or {}
        state, reason = outcome(result, error, self.epochs)
        self.recorder.finish(trial.config["number"], state, stage=self.stage, **_fields(trial, result, state, reason))
        if state != "infeasible":  # the worker's latency check: a replacement is handed out
            self.done += 1
        label = trial.config.get("zoo") or f"trial {trial.config['number']:>3}"
        self._print(label, state, result, reason)

    def _print(self, label: str, state: str, result: dict, reason: str | None) -> None:
        elapsed = time.perf_counter() - self.t0
        of = f"/{self.total}" if self.total else ""
        best = self.recorder.best_val_acc
        detail = f"val_acc {result['val_acc']:.4f}" if state != "failed" and result.get("val_acc") is not None else ""
        if state in ("failed", "infeasible", "interrupted"):
            detail = f"[red]{reason}[/red]"
        if result.get("test_acc") is not None:
            detail += f"  test_acc {result['test_acc']:.4f}"
        best_text = f"best val_acc {best:.4f}" if best is not None else "best val_acc -"
        self.console.print(f"[{self.done}{of}] {self.stage} {label} {state:<8} {detail}  |  "
                           f"{best_text}  |  {elapsed:6.1f}s elapsed", highlight=False, soft_wrap=True)


def _fields(trial: Any, result: dict, state: str, reason: str | None) -> dict[str, Any]:
    """The trial row's final fields from the last result."""
    fields: dict[str, Any] = {k: result[k] for k in ("val_acc", "val_loss", "test_acc", "test_loss", "latency_ms",
                                                     "worker") if result.get(k) is not None}
    if "elapsed_s" in result:
        fields["train_time_s"] = result["elapsed_s"]
    if reason is not None:
        fields["failure_reason"] = reason
    if state == "failed":
        fields["traceback"] = result.get("traceback") or _error_text(trial)
    return fields


def _error_text(trial: Any) -> str | None:
    path = getattr(trial, "error_file", None)
    try:
        return open(path).read()[-4000:] if path else None
    except OSError:
        return None


class FailureStopper(Stopper):
    """Stops the whole search after ``limit`` consecutive failed trials."""

    def __init__(self, recorder: StudyRecorder, limit: int) -> None:
        self.recorder, self.limit = recorder, limit

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.recorder.consecutive_failures >= self.limit
