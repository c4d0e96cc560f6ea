"""Where a search writes its results, as the search sees it: the ``Ledger`` protocol.

The search decides what happened to every candidate; the results store (``nasbench.store``,
which implements this protocol over SQL) keeps it. The records that cross this boundary are
typed: the search never sees a database row and the store never re-parses a dict. It is
Optuna's storage abstraction turned the other way round: the layer below states what it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, Unpack

from nasbench.core.enums import EvaluatorKind, Family, Stage, TrialState
from nasbench.data.spec import DatasetInfo, SplitInfo
from nasbench.search.config import StudyConfig
from nasbench.space.architecture import Architecture
from nasbench.train.evaluate import Scores
from nasbench.train.metrics import EpochMetrics
from nasbench.train.recipe import Fidelity


@dataclass(frozen=True)
class StoredStudy:
    """A study as the results store holds it."""

    study_id: int
    name: str
    config: StudyConfig
    dataset: DatasetInfo
    split: SplitInfo
    study_file: str
    study_file_hash: str
    elapsed_s: float
    status: str


@dataclass(frozen=True)
class NewStudy:
    """What a study is made of when it is first recorded."""

    config: StudyConfig
    space: dict[str, Any]  # the validated space, as JSON
    study_file: str
    study_file_hash: str
    dataset: DatasetInfo
    split: SplitInfo


@dataclass(frozen=True)
class TrialStart:
    """A trial handed out for evaluation (or rejected at once, with ``state`` infeasible)."""

    stage: Stage
    number: int  # Optuna's trial number (searched) or a negative serial (baselines)
    name: str
    seed: int
    fidelity: Fidelity
    evaluator: EvaluatorKind = EvaluatorKind.SCRATCH
    family: Family = Family.SEARCHED
    arch: Architecture | None = None
    params: int | None = None
    flops: int | None = None
    state: TrialState = TrialState.RUNNING
    failure_reason: str | None = None  # why it is infeasible


@dataclass(frozen=True)
class TrialEpoch:
    """One epoch of a running trial, as its worker reported it."""

    stage: Stage
    number: int
    metrics: EpochMetrics
    worker: str | None = None
    latency_ms: float | None = None  # measured once, reported with an epoch


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended, with whatever figures it reached."""

    state: TrialState
    scores: Scores = field(default_factory=Scores)
    latency_ms: float | None = None
    train_time_s: float | None = None
    worker: str | None = None
    failure_reason: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class TrialSummary:
    """A stored trial, typed, as the search reads it back (resume, final selection, baselines)."""

    stage: Stage
    number: int
    family: Family
    name: str
    state: TrialState
    fidelity: Fidelity
    seed: int = 0
    evaluator: EvaluatorKind = EvaluatorKind.SCRATCH
    arch: Architecture | None = None
    params: int | None = None
    flops: int | None = None
    latency_ms: float | None = None
    val_acc: float | None = None
    val_loss: float | None = None
    test_acc: float | None = None
    failure_reason: str | None = None
    epochs_run: int = 0  # the last epoch trained (where a scheduler stopped a pruned trial)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str | None:
        return self.arch.digest() if self.arch is not None else None

    def measure(self, key: str) -> float | None:
        """A constrainable figure by name (params, flops, latency_ms)."""
        value = {"params": self.params, "flops": self.flops, "latency_ms": self.latency_ms}[key]
        return None if value is None else float(value)


@dataclass(frozen=True)
class Holder:
    """The driver recorded as holding a study's lease, alive or not."""

    host: str
    pid: int
    started_at: str  # when the driver started, its host's local time
    alive: bool  # its heartbeat is fresh and it is not seen dead on this machine
    heartbeat_age_s: float

    def describe(self) -> str:
        return f"PID {self.pid} on host {self.host}, started {self.started_at}"


class TrialFilter(TypedDict, total=False):
    """Which of a study's trials ``Ledger.trials`` returns (a filter left out, or None, keeps all)."""

    stage: Stage | None
    family: Family | None
    states: tuple[TrialState, ...] | None


class Ledger(Protocol):
    """The results store as a search uses it. Only the driver writes."""

    @property
    def url(self) -> str:
        """The database URL (Optuna keeps its studies in the same database)."""
        ...

    def connect(self) -> None:
        """Reach the database (and create its tables); raises StoreError naming it when it cannot."""
        ...

    def find_study(self, name: str) -> StoredStudy | None: ...

    def hold_driver(self, study_id: int, on_lost: Callable[[str], None]) -> AbstractContextManager[object]:
        """Be the study's one live driver while the block runs (a lease kept by a heartbeat).

        Raises StoreError naming the running driver when another one holds the study. ``on_lost``
        is called, from another thread, if this driver's lease lapsed and was taken over.
        """
        ...

    def driver(self, study_id: int) -> Holder | None:
        """The driver recorded for the study (alive or dead), or None when none holds it."""
        ...

    def study_names(self) -> list[str]: ...

    def create_study(self, study: NewStudy) -> StoredStudy: ...

    def update_config(self, study_id: int, config: StudyConfig, study_file: str, study_file_hash: str) -> StoredStudy:
        """Record the study file's current settings, and which file (path and sha256) they came from;
        returns the study as now stored."""
        ...

    def start_trial(self, study_id: int, trial: TrialStart, provenance: dict[str, Any]) -> None: ...

    def record_epoch(self, study_id: int, epoch: TrialEpoch) -> None: ...

    def finish_trial(self, study_id: int, stage: Stage, number: int, end: TrialEnd) -> bool:
        """Close a running trial; False when it was not running (already closed elsewhere)."""
        ...

    def trials(self, study_id: int, **where: Unpack[TrialFilter]) -> list[TrialSummary]: ...

    def count_finished(self, study_id: int) -> int:
        """Search trials of searched architectures that count against the trial budget."""
        ...

    def elapsed(self, study_id: int) -> float: ...

    def add_elapsed(self, study_id: int, seconds: float, status: str) -> None: ...

    def set_status(self, study_id: int, status: str) -> None: ...

    def save_checkpoint(self, study_id: int, name: str, epoch: int, data: bytes) -> None:
        """Keep ``data`` as the study's checkpoint ``name`` (replacing the previous one)."""
        ...

    def load_checkpoint(self, study_id: int, name: str) -> bytes | None:
        """The study's checkpoint ``name``, or None when none was saved."""
        ...
