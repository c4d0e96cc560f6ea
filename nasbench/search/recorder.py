"""The driver-side writer of the results store: the only code that writes trials during a search."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nasbench.space.architecture import Architecture
from nasbench.store import records
from nasbench.store.db import session_scope
from nasbench.store.models import StudyRow


class StudyRecorder:
    """Writes one study's trials; counts consecutive failures for the stop rule.

    Wall time is added to the study as search trials finish (not only at the end), so a driver
    killed mid-search has its time counted against the time budget when the study resumes.
    """

    def __init__(self, engine: Engine, study: StudyRow, provenance: dict[str, Any]) -> None:
        self.engine, self.study_id, self.study_name = engine, study.study_id, study.name
        self.provenance = provenance
        self.consecutive_failures = 0
        self.finished = 0
        self.best_val_acc: float | None = None
        self._clock = time.perf_counter()
        self.started: set[tuple[str, int]] = set()  # (stage, number) of the trials this run started

    def __getstate__(self) -> dict[str, Any]:
        # Ray Tune pickles its configuration (searcher, callbacks) for its own records; the live
        # object keeps its engine, the pickled copy is a description only.
        return {k: v for k, v in self.__dict__.items() if k != "engine"}

    def _study(self, s: Session) -> StudyRow:
        return s.get(StudyRow, self.study_id)

    def start(self, number: int, name: str, seed: int, fidelity: dict, params: int | None, flops: int | None,
              arch: Architecture | None = None, stage: str = "search", family: str = "searched") -> None:
        with session_scope(self.engine) as s:
            records.start_trial(s, self._study(s), number, name, fidelity, seed, arch=arch, family=family,
                                stage=stage, provenance=self.provenance, params=params, flops=flops)
        self.started.add((stage, number))

    def infeasible(self, number: int, arch: Architecture, seed: int, fidelity: dict, reason: str,
                   params: int | None = None, flops: int | None = None) -> None:
        with session_scope(self.engine) as s:
            row = records.start_trial(s, self._study(s), number, arch.summary(), fidelity, seed, arch=arch,
                                      provenance=self.provenance, params=params, flops=flops,
                                      state="infeasible")
            records.finish_trial(s, row, "infeasible", failure_reason=reason)

    def epoch(self, number: int, metrics: dict[str, Any], stage: str = "search") -> None:
        with session_scope(self.engine) as s:
            row = records.trial_by_number(s, self._study(s), number, stage)
            if row is not None and row.state == "running":
                records.add_epoch(s, row, metrics)
                if metrics.get("worker"):
                    row.worker = metrics["worker"]
                if metrics.get("latency_ms") is not None:
                    row.latency_ms = records.finite(metrics["latency_ms"])

    def finish(self, number: int, state: str, stage: str = "search", **fields: Any) -> None:
        with session_scope(self.engine) as s:
            row = records.trial_by_number(s, self._study(s), number, stage)
            if row is None or row.state != "running":
                return
            records.finish_trial(s, row, state, **fields)
            val = row.val_acc
            if stage == "search":  # the time budget is the search's
                self._add_elapsed(s, "running")
        self.finished += 1
        if state == "failed":
            self.consecutive_failures += 1
        elif state in ("complete", "pruned"):
            self.consecutive_failures = 0
        if val is not None and state == "complete" and (self.best_val_acc is None or val > self.best_val_acc):
            self.best_val_acc = val

    def interrupt_running(self, stage: str, reason: str) -> int:
        """Close the rows of ``stage`` this recorder started that still run (Tune stops live trials
        without callbacks). Rows another process is training (a concurrent `nasbench baseline`) stay."""
        with session_scope(self.engine) as s:
            rows = [r for r in records.running_trials(s, self._study(s), stage) if (stage, r.number) in self.started]
            for row in rows:
                records.finish_trial(s, row, "interrupted", failure_reason=reason)
            return len(rows)

    def mark_running(self) -> None:
        """Show a live search as such in `nasbench status` before its first trial ends."""
        with session_scope(self.engine) as s:
            self._study(s).status = "running"

    def close(self, status: str) -> None:
        """Add the wall time not yet counted and set the study's status."""
        with session_scope(self.engine) as s:
            self._add_elapsed(s, status)

    def _add_elapsed(self, s: Session, status: str) -> None:
        now = time.perf_counter()
        study = self._study(s)
        study.elapsed_s += now - self._clock
        study.status = status
        self._clock = now
