"""The tabular-benchmark schema: benchmarks, their architectures, training runs and curves.

Declared on the store's ``Base`` (tables prefixed ``nb_``), so ``open_engine`` creates them once
this module is imported. Architectures themselves live in the store's shared
``nb_architectures`` table, deduplicated by digest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nasbench.store.models import ArchitectureRow, Base, created, intpk, name_str

RUN_STATES = ("complete", "failed")


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

    archs: Mapped[list[BenchArchRow]] = relationship(back_populates="benchmark", cascade="all, delete-orphan",
                                                     order_by="BenchArchRow.position")


class BenchArchRow(Base):
    """An architecture selected for a benchmark: its static figures, or why it is infeasible."""

    __tablename__ = "nb_bench_archs"
    __table_args__ = (UniqueConstraint("benchmark_id", "architecture_id"),
                      UniqueConstraint("benchmark_id", "position"))

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
    runs: Mapped[list[BenchRunRow]] = relationship(back_populates="arch", cascade="all, delete-orphan",
                                                   order_by="BenchRunRow.entry_id")


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
    curve: Mapped[list[BenchCurveRow]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                      order_by="BenchCurveRow.epoch")


class BenchCurveRow(Base):
    """One epoch of a run's learning curve."""

    __tablename__ = "nb_bench_curves"
    __table_args__ = (UniqueConstraint("entry_id", "epoch"),)

    curve_id: Mapped[intpk]
    entry_id: Mapped[int] = mapped_column(ForeignKey("nb_bench_entries.entry_id", ondelete="CASCADE"))
    epoch: Mapped[int]
    train_loss: Mapped[float | None]
    val_loss: Mapped[float | None]
    val_acc: Mapped[float | None]
    epoch_time_s: Mapped[float | None]

    run: Mapped[BenchRunRow] = relationship(back_populates="curve")
