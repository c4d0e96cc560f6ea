"""The results schema (SQLAlchemy 2). Tables are prefixed ``nb_`` so they never collide with
Optuna's own tables, which live in the same database."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from enum import StrEnum

from sqlalchemy import JSON, Dialect, ForeignKey, String, Text, TypeDecorator, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nasbench.core.enums import Family, Stage, TrialState

intpk = Annotated[int, mapped_column(primary_key=True, autoincrement=True)]
created = Annotated[dt.datetime, mapped_column(server_default=func.now())]
name_str = Annotated[str, mapped_column(String(255))]



class EnumText(TypeDecorator[StrEnum]):
    """A ``StrEnum`` stored as its plain string value (a VARCHAR in the schema), read back as the enum."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: object, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: object, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


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

    trials: Mapped[list[TrialRow]] = relationship(back_populates="study", cascade="all, delete-orphan")


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
    epochs: Mapped[list[EpochRow]] = relationship(back_populates="trial", cascade="all, delete-orphan",
                                                  order_by="EpochRow.epoch")


class EpochRow(Base):
    __tablename__ = "nb_epochs"
    __table_args__ = (UniqueConstraint("trial_id", "epoch"),)

    epoch_id: Mapped[intpk]
    trial_id: Mapped[int] = mapped_column(ForeignKey("nb_trials.trial_id", ondelete="CASCADE"))
    epoch: Mapped[int]
    train_loss: Mapped[float | None]
    val_loss: Mapped[float | None]
    val_acc: Mapped[float | None]
    epoch_time_s: Mapped[float | None]
    train_samples_per_s: Mapped[float | None]

    trial: Mapped[TrialRow] = relationship(back_populates="epochs")
