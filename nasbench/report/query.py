"""Filtering and sorting trials for ``nasbench query``.

Trials are filtered, sorted and cut as plain rows, so the table a user reads in a terminal needs no
pandas; pandas is imported for a ``--where`` expression (pandas' query language) and for the
DataFrame that CSV, JSON and parquet output are written from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.errors import ConfigError
from nasbench.report.format import missing
from nasbench.store.rows import trial_columns, trial_records, trials_frame

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_COLUMNS = [
    "study",
    "stage",
    "number",
    "family",
    "state",
    "name",
    "params",
    "flops",
    "val_acc",
    "test_acc",
    "epochs_run",
    "train_time_s",
]


FILTER_VALUES: dict[str, type[StrEnum]] = {"state": TrialState, "family": Family, "stage": Stage}


def check_choice(option: str, value: str | None, choices: type[StrEnum]) -> None:
    """Refuse a value the column never holds (it would select nothing), listing the ones it may."""
    if value is not None and value not in {c.value for c in choices}:
        raise ConfigError(
            f"{option} {value!r} is not a trial {option[2:]}; choose one of: {', '.join(c.value for c in choices)}."
        )


def select_rows(
    db_url: str | None,
    study: str | None = None,
    state: str | None = None,
    where: str | None = None,
    family: str | None = None,
    stage: str | None = None,
    sort: str = "val_acc",
    ascending: bool = False,
    top: int | None = None,
    columns: list[str] | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and the rows of the trials asked for, as plain values (missing ones None)."""
    filters = {"state": state, "family": family, "stage": stage}
    for col, value in filters.items():
        check_choice(f"--{col}", value, FILTER_VALUES[col])
    rows = trial_records(db_url, study=study)  # names an unknown study
    every = trial_columns()
    rows = [r for r in rows if all(value is None or r[col] == value for col, value in filters.items())]
    if where:
        frame = trials_frame(rows)
        try:
            kept = frame.query(where, engine="python").index
        except Exception as e:
            raise ConfigError(where_error(where, e, every)) from e
        rows = [rows[i] for i in kept]
    if sort:
        if sort not in every:
            raise ConfigError(f"--sort {sort!r}: no such column; columns: {', '.join(every)}.")
        rows = _sorted(rows, sort, ascending)
    if top is not None:
        rows = rows[:top]  # as pandas' head: a negative N drops the last N
    cols = columns or DEFAULT_COLUMNS
    unknown = [c for c in cols if c not in every]
    if unknown:
        raise ConfigError(f"--columns: unknown column {unknown[0]!r}; columns: {', '.join(every)}.")
    return cols, [{c: r[c] for c in cols} for r in rows]


def _sorted(rows: list[dict[str, Any]], column: str, ascending: bool) -> list[dict[str, Any]]:
    """Stable sort on ``column``, missing values last either way."""
    present = [r for r in rows if not missing(r[column])]
    try:
        present.sort(key=lambda r: r[column], reverse=not ascending)  # reverse keeps ties in order
    except TypeError as e:
        raise ConfigError(f"--sort {column!r}: its values cannot be ordered.") from e
    return present + [r for r in rows if missing(r[column])]


def select_trials(db_url: str | None, **options: Any) -> pd.DataFrame:
    """``select_rows`` as a DataFrame (counts as integers), what CSV, JSON and parquet are written from."""
    cols, rows = select_rows(db_url, **options)
    return trials_frame(rows, cols)


def where_error(where: str, exc: Exception, columns: list[str]) -> str:
    """One sentence: the expression, pandas' reason (first line), and the columns it may use."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
    return (
        f'--where {where!r} is not a valid filter ({reason}); write one such as "params<1e5 and val_acc>0.9" '
        f"over the columns {', '.join(columns)}."
    )
