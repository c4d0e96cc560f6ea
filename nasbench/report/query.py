"""Filtering and sorting trials for ``nasbench query``."""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.errors import ConfigError
from nasbench.store import load_trials

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


def select_trials(
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
) -> pd.DataFrame:
    filters = {"state": state, "family": family, "stage": stage}
    for col, value in filters.items():
        check_choice(f"--{col}", value, FILTER_VALUES[col])
    df = load_trials(db_url, study=study)  # names an unknown study
    for col, value in filters.items():
        if value is not None:
            df = df[df[col] == value]
    if where:
        try:
            df = df.query(where, engine="python")
        except Exception as e:
            raise ConfigError(where_error(where, e, list(df.columns))) from e
    if sort:
        if sort not in df.columns:
            raise ConfigError(f"--sort {sort!r}: no such column; columns: {', '.join(df.columns)}.")
        df = df.sort_values(sort, ascending=ascending, na_position="last", kind="stable")
    if top is not None:
        df = df.head(top)
    cols = columns or DEFAULT_COLUMNS
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(f"--columns: unknown column {missing[0]!r}; columns: {', '.join(df.columns)}.")
    return _whole_numbers(df[cols].reset_index(drop=True))


COUNT_COLUMNS = ("number", "params", "flops", "epochs_run")


def _whole_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Counts stay integers in every format (a missing value, e.g. an infeasible trial's, made them floats)."""
    df = df.copy()
    for c in COUNT_COLUMNS:
        if c in df.columns and df[c].dtype.kind == "f" and (df[c].dropna() % 1 == 0).all():
            df[c] = df[c].astype("Int64")
    return df


def where_error(where: str, exc: Exception, columns: list[str]) -> str:
    """One sentence: the expression, pandas' reason (first line), and the columns it may use."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
    return (
        f'--where {where!r} is not a valid filter ({reason}); write one such as "params<1e5 and val_acc>0.9" '
        f"over the columns {', '.join(columns)}."
    )
