"""Writing and reading results. Every function takes a Session; callers own the transaction.

``load_trials`` and ``load_epochs`` return pandas DataFrames and import pandas when first called;
``nasbench.store.rows`` reads the same trials as plain rows without pandas or the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple

from sqlalchemy import Engine, Row, Select, func, select
from sqlalchemy.orm import Session

from nasbench.core.enums import Stage, TrialState
from nasbench.core.numbers import finite
from nasbench.space.architecture import Architecture
from nasbench.store.models import ArchitectureRow, EpochRow, StudyRow, TrialRow
from nasbench.store.rows import integers, open_rows, study_row, trial_columns, trial_records, trials_frame

if TYPE_CHECKING:
    import pandas as pd

    from nasbench.train.metrics import EpochMetrics

_Ts = TypeVarTuple("_Ts")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def get_study(s: Session, name: str) -> StudyRow | None:
    return s.scalar(select(StudyRow).where(StudyRow.name == name))


def study_names(s: Session) -> list[str]:
    return list(s.scalars(select(StudyRow.name).order_by(StudyRow.study_id)))


def architecture_row(s: Session, arch: Architecture) -> ArchitectureRow:
    """The row for ``arch``, created on first sight (deduplicated by digest)."""
    digest = arch.digest()
    row = s.scalar(select(ArchitectureRow).where(ArchitectureRow.digest == digest))
    if row is None:
        row = ArchitectureRow(digest=digest, arch_json=arch.to_json(), summary=arch.summary())
        s.add(row)
        s.flush()
    return row


def start_trial(
    s: Session,
    study: StudyRow,
    number: int,
    name: str,
    fidelity: dict[str, Any],
    seed: int,
    arch: Architecture | None = None,
    family: str = "searched",
    stage: str = "search",
    state: str = "running",
    provenance: dict | None = None,
    params: int | None = None,
    flops: int | None = None,
    evaluator: str = "scratch",
) -> TrialRow:
    """Insert a trial (replacing an unfinished row with the same number, e.g. after a crash)."""
    old = s.scalar(
        select(TrialRow).where(TrialRow.study_id == study.study_id, TrialRow.number == number, TrialRow.stage == stage)
    )
    if old is not None:
        s.delete(old)
        s.flush()
    row = TrialRow(
        study_id=study.study_id,
        number=number,
        stage=stage,
        family=family,
        name=name,
        architecture_id=architecture_row(s, arch).architecture_id if arch else None,
        state=state,
        seed=seed,
        fidelity_json=fidelity,
        provenance_json=provenance or {},
        params=params,
        flops=flops,
        evaluator=evaluator,
        started_at=now(),
    )
    s.add(row)
    s.flush()
    return row


def trial_by_number(s: Session, study: StudyRow, number: int, stage: str = "search") -> TrialRow | None:
    return s.scalar(
        select(TrialRow).where(TrialRow.study_id == study.study_id, TrialRow.number == number, TrialRow.stage == stage)
    )


def running_trials(s: Session, study: StudyRow, stage: str = "search") -> list[TrialRow]:
    return list(
        s.scalars(
            select(TrialRow).where(
                TrialRow.study_id == study.study_id, TrialRow.stage == stage, TrialRow.state == "running"
            )
        )
    )


def add_epoch(s: Session, trial: TrialRow, m: EpochMetrics) -> None:
    s.add(
        EpochRow(
            trial_id=trial.trial_id,
            epoch=m.epoch,
            train_loss=m.train_loss,
            val_loss=m.val_loss,
            val_acc=m.val_acc,
            epoch_time_s=m.epoch_time_s,
            train_samples_per_s=m.train_samples_per_s,
        )
    )
    trial.epochs_run = max(trial.epochs_run, m.epoch)
    if m.val_acc is not None:
        trial.val_acc, trial.val_loss = m.val_acc, m.val_loss  # finite or None (EpochMetrics)


def finish_trial(s: Session, trial: TrialRow, state: TrialState, **fields: Any) -> None:
    """Set the final state and any result fields (val_acc, test_acc, failure_reason, ...)."""
    trial.state = state
    trial.finished_at = now()
    for key, value in fields.items():
        if isinstance(value, float):
            value = finite(value)
        setattr(trial, key, value)


def count_trials(
    s: Session, study: StudyRow, states: tuple[str, ...], stage: str = "search", family: str = "searched"
) -> int:
    return (
        s.scalar(
            select(func.count())
            .select_from(TrialRow)
            .where(
                TrialRow.study_id == study.study_id,
                TrialRow.state.in_(states),
                TrialRow.stage == stage,
                TrialRow.family == family,
            )
        )
        or 0
    )


def load_trials(
    engine_or_url: Engine | str | None = None, study: str | None = None, with_arch: bool = False
) -> pd.DataFrame:
    """All trials (optionally of one study) as a DataFrame, one row per trial.

    ``engine_or_url`` is an Engine or a database URL (None: $NASBENCH_DB or sqlite:///nasbench.db).
    Columns: ``TRIAL_COLUMNS`` plus ``trial_id``, ``fidelity`` and ``metrics`` (dicts), and with
    ``with_arch`` an ``arch`` column of ``Architecture`` values. ``stage`` is ``search`` or ``final``
    (the re-training of the top architectures, the only searched runs with ``test_acc``); ``family``
    is ``searched`` or ``baseline`` (zoo networks).

    Example::

        >>> from nasbench.store import load_trials
        >>> df = load_trials("sqlite:///nasbench.db", study="quickstart")
        >>> done = df[(df.stage == "search") & (df.state == "complete")]
        >>> done.nlargest(5, "val_acc")[["number", "name", "params", "val_acc"]]
    """
    return trials_frame(trial_records(engine_or_url, study, with_arch), trial_columns(with_arch))


EPOCH_VALUES = ["epoch", "train_loss", "val_loss", "val_acc", "epoch_time_s", "train_samples_per_s"]
EPOCH_COLUMNS = ["study", "number", "stage", "name", *EPOCH_VALUES]


def load_epochs(engine_or_url: Engine | str | None = None, study: str | None = None) -> pd.DataFrame:
    """Per-epoch curves: one row per (trial, epoch)."""
    stmt = (
        select(EpochRow, TrialRow.number, TrialRow.stage, TrialRow.name, StudyRow.name)
        .join(TrialRow, EpochRow.trial_id == TrialRow.trial_id)
        .join(StudyRow, TrialRow.study_id == StudyRow.study_id)
        .order_by(TrialRow.trial_id, EpochRow.epoch)
    )

    def record(row: Row[EpochRow, int, Stage, str, str]) -> dict[str, Any]:
        epoch, number, stage, name, study_name = row
        trial = {"study": study_name, "number": number, "stage": stage, "name": name}
        return {**trial, **{c: getattr(epoch, c) for c in EPOCH_VALUES}}

    import pandas as pd

    df = pd.DataFrame(_records(engine_or_url, stmt, study, record), columns=EPOCH_COLUMNS)
    return integers(df, ["number", "epoch"])


def _records(
    engine_or_url: Engine | str | None,
    stmt: Select[*_Ts],
    study: str | None,
    record: Callable[[Row[*_Ts]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """``record`` of each row ``stmt`` reads (of study ``study`` unless None), inside the session.

    A URL is opened for reading: a SQLite file that does not exist is an error, never created, and
    an unknown study is named, never an empty frame.
    """
    from nasbench.store.db import session_scope

    engine = open_rows(engine_or_url)
    if study is not None:
        stmt = stmt.where(StudyRow.name == study)
    with session_scope(engine) as s:
        if study is not None:
            study_row(s, study)  # names an unknown study
        return [record(row) for row in s.execute(stmt)]
