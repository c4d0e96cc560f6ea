"""The results schema (SQLAlchemy 2): every nasbench table, searches and tabular benchmarks alike.

Tables are prefixed ``nb_`` so they never collide with Optuna's own tables, which live in the same
database. The schema changes only through a migration in ``nasbench/store/migrations/versions``;
a test checks that these declarations and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from sqlalchemy import JSON, Dialect, ForeignKey, LargeBinary, String, Text, TypeDecorator, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nasbench.core.enums import EvaluatorKind, Family, Stage, TrialState

intpk = Annotated[int, mapped_column(primary_key=True, autoincrement=True)]
created = Annotated[dt.datetime, mapped_column(server_default=func.now())]
name_str = Annotated[str, mapped_column(String(255))]

RUN_STATES = ("complete", "failed")  # tabular-benchmark runs


class EnumText(TypeDecorator[StrEnum]):
    """A ``StrEnum`` stored as its plain string value (a VARCHAR in the schema), read back as the enum."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def _children(back_populates: str, order_by: str | Literal[False] = False) -> Any:
    """The one-to-many side of a parent: its child rows, deleted with it (``order_by``: their order)."""
    return relationship(back_populates=back_populates, cascade="all, delete-orphan", order_by=order_by)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class CurveColumns:
    """One epoch of a learning curve: the columns of a search's epoch and a benchmark run's curve point.

    In the schema they follow the table's own columns of the same ``sort_order`` (its key and parent).
    """

    epoch: Mapped[int]
    train_loss: Mapped[float | None]
    val_loss: Mapped[float | None]
    val_acc: Mapped[float | None]
    epoch_time_s: Mapped[float | None]


class StudyRow(Base):
    __tablename__ = "nb_studies"

    study_id: Mapped[intpk]
    name: Mapped[name_str] = mapped_column(unique=True)
    created_at: Mapped[created]
    config_json: Mapped[dict[str, Any]]
    study_file: Mapped[str] = mapped_column(Text, default="")
    study_file_hash: Mapped[str] = mapped_column(String(64), default="")
    space_json: Mapped[dict[str, Any]]
    dataset_json: Mapped[dict[str, Any]]  # describe() of the data set, content hash included
    split_json: Mapped[dict[str, Any]]
    elapsed_s: Mapped[float] = mapped_column(default=0.0)  # wall time spent over all sessions
    status: Mapped[str] = mapped_column(String(32), default="created")

    trials: Mapped[list[TrialRow]] = _children("study")


class ArchitectureRow(Base):
    __tablename__ = "nb_architectures"

    architecture_id: Mapped[intpk]
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    arch_json: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)


class TrialRow(Base):
    __tablename__ = "nb_trials"
    __table_args__ = (UniqueConstraint("study_id", "number", "stage"),)

    trial_id: Mapped[intpk]
    study_id: Mapped[int] = mapped_column(ForeignKey("nb_studies.study_id", ondelete="CASCADE"))
    number: Mapped[int]  # Optuna trial number (searched) or a negative serial (baselines)
    stage: Mapped[Stage] = mapped_column(EnumText(Stage), default=Stage.SEARCH)
    family: Mapped[Family] = mapped_column(EnumText(Family), default=Family.SEARCHED)
    name: Mapped[str] = mapped_column(Text)  # architecture summary or zoo model name
    architecture_id: Mapped[int | None] = mapped_column(ForeignKey("nb_architectures.architecture_id"))
    state: Mapped[TrialState] = mapped_column(EnumText(TrialState), default=TrialState.RUNNING)
    seed: Mapped[int] = mapped_column(default=0)
    fidelity_json: Mapped[dict[str, Any]]
    # How val_acc was measured: trained from scratch, or a path of the study's supernet (shared
    # weights): the two are never ranked together.
    evaluator: Mapped[EvaluatorKind] = mapped_column(
        EnumText(EvaluatorKind),
        default=EvaluatorKind.SCRATCH,
        server_default=EvaluatorKind.SCRATCH.value,
        deferred=True,  # a database older than revision 0003 has no such column, and readers leave it so
    )
    params: Mapped[int | None]
    flops: Mapped[int | None]
    latency_ms: Mapped[float | None]
    val_acc: Mapped[float | None]
    val_loss: Mapped[float | None]
    test_acc: Mapped[float | None]
    test_loss: Mapped[float | None]
    epochs_run: Mapped[int] = mapped_column(default=0)
    train_time_s: Mapped[float | None]
    started_at: Mapped[created]
    finished_at: Mapped[dt.datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(255))
    provenance_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics_json: Mapped[dict[str, Any]] = mapped_column(default=dict)  # extra measures

    study: Mapped[StudyRow] = relationship(back_populates="trials")
    architecture: Mapped[ArchitectureRow | None] = relationship()
    epochs: Mapped[list[EpochRow]] = _children("trial", order_by="EpochRow.epoch")


class EpochRow(CurveColumns, Base):
    __tablename__ = "nb_epochs"
    __table_args__ = (UniqueConstraint("trial_id", "epoch"),)

    epoch_id: Mapped[intpk]
    trial_id: Mapped[int] = mapped_column(ForeignKey("nb_trials.trial_id", ondelete="CASCADE"))
    train_samples_per_s: Mapped[float | None] = mapped_column(sort_order=1)  # after the curve columns

    trial: Mapped[TrialRow] = relationship(back_populates="epochs")


# Tabular benchmarks: a space trained on a data set at several epoch budgets. Architectures live
# in the shared nb_architectures table, deduplicated by digest.


class BenchmarkRow(Base):
    """One tabular benchmark: a space trained on a data set at several epoch budgets."""

    __tablename__ = "nb_benchmarks"

    benchmark_id: Mapped[intpk]
    name: Mapped[name_str] = mapped_column(unique=True)
    created_at: Mapped[created]
    space_json: Mapped[dict[str, Any]]  # the SpaceSpec, as validated
    data_json: Mapped[dict[str, Any]]  # data set name, loader options, split sizes and seed
    dataset_json: Mapped[dict[str, Any]]  # describe() of the data set, content hash included
    split_json: Mapped[dict[str, Any]]  # split sizes
    recipe_json: Mapped[dict[str, Any]]
    budgets_json: Mapped[list[Any]]  # epoch budgets, ascending; each trained separately
    seeds: Mapped[int]
    sample_seed: Mapped[int]
    threads: Mapped[int]  # torch threads while training and timing
    cardinality: Mapped[int | None]  # distinct architectures of the space, when enumerable
    provenance_json: Mapped[dict[str, Any]] = mapped_column(default=dict)

    archs: Mapped[list[BenchArchRow]] = _children("benchmark", order_by="BenchArchRow.position")


class BenchArchRow(Base):
    """An architecture selected for a benchmark: its static figures, or why it is infeasible."""

    __tablename__ = "nb_bench_archs"
    __table_args__ = (UniqueConstraint("benchmark_id", "architecture_id"), UniqueConstraint("benchmark_id", "position"))

    bench_arch_id: Mapped[intpk]
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("nb_benchmarks.benchmark_id", ondelete="CASCADE"))
    architecture_id: Mapped[int] = mapped_column(ForeignKey("nb_architectures.architecture_id"))
    position: Mapped[int]  # order of selection (a seeded permutation of the space)
    infeasible_reason: Mapped[str | None] = mapped_column(Text)
    params: Mapped[int | None]
    flops: Mapped[int | None]  # one sample's forward pass, a multiply-add counted as 2
    latency_ms: Mapped[float | None]  # median, batch 1, ``threads`` CPU threads

    benchmark: Mapped[BenchmarkRow] = relationship(back_populates="archs")
    architecture: Mapped[ArchitectureRow] = relationship()
    runs: Mapped[list[BenchRunRow]] = _children("arch", order_by="BenchRunRow.entry_id")


class BenchRunRow(Base):
    """One training of one architecture for one epoch budget with one seed."""

    __tablename__ = "nb_bench_entries"
    __table_args__ = (UniqueConstraint("bench_arch_id", "epochs", "seed"),)

    entry_id: Mapped[intpk]
    bench_arch_id: Mapped[int] = mapped_column(ForeignKey("nb_bench_archs.bench_arch_id", ondelete="CASCADE"))
    epochs: Mapped[int]
    seed: Mapped[int]
    state: Mapped[str] = mapped_column(default="complete")  # complete | failed
    val_acc: Mapped[float | None]
    val_loss: Mapped[float | None]
    test_acc: Mapped[float | None]
    test_loss: Mapped[float | None]
    train_time_s: Mapped[float | None]  # Lightning fit, per-epoch validation included
    eval_time_s: Mapped[float | None]  # the test-set pass
    failure_reason: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[created]

    arch: Mapped[BenchArchRow] = relationship(back_populates="runs")
    curve: Mapped[list[BenchCurveRow]] = _children("run", order_by="BenchCurveRow.epoch")


class BenchCurveRow(CurveColumns, Base):
    """One epoch of a run's learning curve."""

    __tablename__ = "nb_bench_curves"
    __table_args__ = (UniqueConstraint("entry_id", "epoch"),)

    curve_id: Mapped[intpk]
    entry_id: Mapped[int] = mapped_column(ForeignKey("nb_bench_entries.entry_id", ondelete="CASCADE"))

    run: Mapped[BenchRunRow] = relationship(back_populates="curve")


class StudyLeaseRow(Base):
    """The one live driver of a study (see ``nasbench.store.lease``); no row: no driver."""

    __tablename__ = "nb_study_leases"

    study_id: Mapped[int] = mapped_column(
        ForeignKey("nb_studies.study_id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    token: Mapped[str] = mapped_column(String(32))  # random per acquisition: who holds it now
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    # Where ``pid`` names a process: boot id and PID namespace (empty off Linux). A driver in the
    # same scope can see at once that a holder died; elsewhere only the heartbeat tells.
    pid_scope: Mapped[str] = mapped_column(String(100))
    # Seconds since the Unix epoch. started_at (the driver process's start) is the driver host's
    # clock and only shown to people; acquired_at and heartbeat_at are the database's clock, so
    # deciding expiry never compares two hosts' clocks.
    started_at: Mapped[float]
    acquired_at: Mapped[float]
    heartbeat_at: Mapped[float]


class CheckpointRow(Base):
    """The latest checkpoint of a study's long-lived training (its supernet), kept in the database
    so that a resumed search on any machine continues it."""

    __tablename__ = "nb_checkpoints"

    study_id: Mapped[int] = mapped_column(
        ForeignKey("nb_studies.study_id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    saved_at: Mapped[created]
