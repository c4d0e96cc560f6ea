"""The results store as a search uses it: ``SqlLedger`` implements ``nasbench.search.ledger.Ledger``.

Rows go in from typed records and come out as typed records (``StoredStudy``, ``TrialSummary``):
configurations are validated once when read, architectures parsed once, states are enums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from typing import Any, Unpack

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from nasbench.core.enums import EvaluatorKind, Family, Stage, TrialState
from nasbench.core.numbers import finite
from nasbench.data.spec import DatasetInfo, SplitInfo
from nasbench.errors import StoreError
from nasbench.search.config import StudyConfig
from nasbench.search.ledger import (
    Holder,
    NewStudy,
    StoredStudy,
    TrialEnd,
    TrialEpoch,
    TrialFilter,
    TrialStart,
    TrialSummary,
)
from nasbench.space.architecture import Architecture
from nasbench.store import lease, records
from nasbench.store.db import open_engine, session_scope
from nasbench.store.models import ArchitectureRow, CheckpointRow, StudyRow, TrialRow
from nasbench.store.rows import parse_arch
from nasbench.train.recipe import Fidelity


def _columns(row: Any, *names: str) -> dict[str, Any]:
    """A row's columns ``names`` by name: the record fields that are stored as they are."""
    return {name: getattr(row, name) for name in names}


def stored_study(row: StudyRow) -> StoredStudy:
    """A study row as a typed record (its configuration validated as it was stored)."""
    return StoredStudy(
        config=StudyConfig.model_validate(row.config_json, context={"stored": True}),
        dataset=DatasetInfo.from_dict(row.dataset_json),
        split=SplitInfo.from_dict(row.split_json),
        **_columns(row, "study_id", "name", "study_file", "study_file_hash", "elapsed_s", "status"),
    )


def trial_summary(row: TrialRow, arch: Architecture | None) -> TrialSummary:
    return TrialSummary(
        stage=Stage(row.stage),
        family=Family(row.family),
        state=TrialState(row.state),
        fidelity=Fidelity.model_validate(row.fidelity_json),
        evaluator=EvaluatorKind(row.evaluator),
        arch=arch,
        extra=dict(row.metrics_json or {}),
        **_columns(
            row,
            "number",
            "name",
            "seed",
            "params",
            "flops",
            "latency_ms",
            "val_acc",
            "val_loss",
            "test_acc",
            "failure_reason",
            "epochs_run",
        ),
    )


class SqlLedger:
    """A study's results in a SQL database (SQLite file or PostgreSQL); Optuna shares the database."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self._url = url
        self._engine = engine

    @property
    def url(self) -> str:
        return self._url

    @property
    def engine(self) -> Engine:
        """Connected on first use, so that a search checks its inputs before it touches the database."""
        if self._engine is None:
            self._engine = open_engine(self._url)
        return self._engine

    def connect(self) -> None:
        self.engine  # noqa: B018 — reaching the database is the point

    def _study(self, s: Session, study_id: int) -> StudyRow:
        row = s.get(StudyRow, study_id)
        assert row is not None, f"study {study_id} is in the database"
        return row

    def find_study(self, name: str) -> StoredStudy | None:
        with session_scope(self.engine) as s:
            row = records.get_study(s, name)
            return stored_study(row) if row is not None else None

    def study_names(self) -> list[str]:
        with session_scope(self.engine) as s:
            return records.study_names(s)

    @contextmanager
    def hold_driver(self, study_id: int, on_lost: Callable[[str], None]) -> Iterator[object]:
        with lease.hold(self.engine, study_id, on_lost=lambda e: on_lost(str(e))) as keeper:
            yield keeper

    def driver(self, study_id: int) -> Holder | None:
        with session_scope(self.engine) as s:
            h = lease.read_holder(s, study_id)
        if h is None:
            return None
        return Holder(h.host, h.pid, f"{h.started:%Y-%m-%d %H:%M:%S %Z}", h.alive, h.heartbeat_age_s)

    def create_study(self, study: NewStudy) -> StoredStudy:
        try:
            return self._create_study(study)
        except StoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
            # Another driver recorded the same study a moment ago: use its record (the lease then
            # decides which of the two drivers runs it).
            found = self.find_study(study.config.name)
            if found is None:
                raise
            return found

    def _create_study(self, study: NewStudy) -> StoredStudy:
        with session_scope(self.engine) as s:
            row = StudyRow(
                name=study.config.name,
                config_json=study.config.model_dump(mode="json"),
                study_file=study.study_file,
                study_file_hash=study.study_file_hash,
                space_json=study.space,
                dataset_json=_dataset_json(study.dataset),
                split_json=study.split.to_dict(),
            )
            s.add(row)
            s.flush()
            return stored_study(row)

    def update_config(self, study_id: int, config: StudyConfig, study_file: str, study_file_hash: str) -> StoredStudy:
        with session_scope(self.engine) as s:
            row = self._study(s, study_id)
            row.config_json = config.model_dump(mode="json")
            row.study_file, row.study_file_hash = study_file, study_file_hash
            s.flush()
            return stored_study(row)

    def start_trial(self, study_id: int, trial: TrialStart, provenance: dict[str, Any]) -> None:
        with session_scope(self.engine) as s:
            row = records.start_trial(
                s,
                self._study(s, study_id),
                trial.number,
                trial.name,
                trial.fidelity.model_dump(mode="json"),
                trial.seed,
                arch=trial.arch,
                family=trial.family,
                stage=trial.stage,
                state=trial.state,
                provenance=provenance,
                params=trial.params,
                flops=trial.flops,
                evaluator=trial.evaluator,
            )
            if trial.state != TrialState.RUNNING:
                records.finish_trial(s, row, trial.state, failure_reason=trial.failure_reason)

    def record_epoch(self, study_id: int, epoch: TrialEpoch) -> None:
        with session_scope(self.engine) as s:
            row = records.trial_by_number(s, self._study(s, study_id), epoch.number, epoch.stage)
            if row is None or row.state != TrialState.RUNNING:
                return
            records.add_epoch(s, row, epoch.metrics)
            if epoch.worker:
                row.worker = epoch.worker
            if epoch.latency_ms is not None:
                row.latency_ms = finite(epoch.latency_ms)

    def finish_trial(self, study_id: int, stage: Stage, number: int, end: TrialEnd) -> bool:
        with session_scope(self.engine) as s:
            row = records.trial_by_number(s, self._study(s, study_id), number, stage)
            if row is None or row.state != TrialState.RUNNING:
                return False
            values = asdict(end.scores) | {k: getattr(end, k) for k in _END_FIELDS}
            records.finish_trial(s, row, end.state, **{k: v for k, v in values.items() if v is not None})
            return True

    def trials(self, study_id: int, **where: Unpack[TrialFilter]) -> list[TrialSummary]:
        stmt = (
            select(TrialRow, ArchitectureRow.arch_json)
            .outerjoin(ArchitectureRow, TrialRow.architecture_id == ArchitectureRow.architecture_id)
            .where(TrialRow.study_id == study_id)
            .order_by(TrialRow.stage, TrialRow.number)
            .options(undefer(TrialRow.evaluator))
        )
        if (stage := where.get("stage")) is not None:
            stmt = stmt.where(TrialRow.stage == stage)
        if (family := where.get("family")) is not None:
            stmt = stmt.where(TrialRow.family == family)
        if (states := where.get("states")) is not None:
            stmt = stmt.where(TrialRow.state.in_(states))
        with session_scope(self.engine) as s:
            return [trial_summary(row, parse_arch(arch_json)) for row, arch_json in s.execute(stmt)]

    def count_finished(self, study_id: int) -> int:
        with session_scope(self.engine) as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(TrialRow)
                    .where(
                        TrialRow.study_id == study_id,
                        TrialRow.stage == Stage.SEARCH,
                        TrialRow.family == Family.SEARCHED,
                        TrialRow.state.in_([t for t in TrialState if t.finished]),
                    )
                )
                or 0
            )

    def elapsed(self, study_id: int) -> float:
        with session_scope(self.engine) as s:
            return self._study(s, study_id).elapsed_s

    def add_elapsed(self, study_id: int, seconds: float, status: str) -> None:
        with session_scope(self.engine) as s:
            row = self._study(s, study_id)
            row.elapsed_s += seconds
            row.status = status

    def set_status(self, study_id: int, status: str) -> None:
        with session_scope(self.engine) as s:
            self._study(s, study_id).status = status

    def save_checkpoint(self, study_id: int, name: str, epoch: int, data: bytes) -> None:
        with session_scope(self.engine) as s:
            row = s.get(CheckpointRow, (study_id, name))
            if row is None:
                s.add(CheckpointRow(study_id=study_id, name=name, epoch=epoch, data=data))
            else:
                row.epoch, row.data = epoch, data

    def load_checkpoint(self, study_id: int, name: str) -> bytes | None:
        with session_scope(self.engine) as s:
            row = s.get(CheckpointRow, (study_id, name))
            return None if row is None else bytes(row.data)


_END_FIELDS = tuple(f.name for f in fields(TrialEnd) if f.name not in ("state", "scores"))  # stored with the scores


def _dataset_json(info: DatasetInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "source": info.source,
        "ndim": info.ndim,
        "in_channels": info.in_channels,
        "input_size": list(info.input_size),
        "num_classes": info.num_classes,
        "train_size": info.train_size,
        "test_size": info.test_size,
        "content_hash": info.content_hash,
    }
