"""Studies and trials read as plain rows with SQLAlchemy Core: no ORM, pandas or Alembic to
import, so ``nasbench status`` and ``nasbench query`` answer at once. ``load_trials`` is these
rows in a DataFrame.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Connection, DateTime, Engine, inspect, text
from sqlalchemy.types import TypeEngine

from nasbench.errors import ConfigError
from nasbench.space.architecture import Architecture

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

TRIAL_COLUMNS = [
    "study",
    "number",
    "stage",
    "family",
    "name",
    "state",
    "evaluator",
    "params",
    "flops",
    "latency_ms",
    "val_acc",
    "val_loss",
    "test_acc",
    "test_loss",
    "epochs_run",
    "train_time_s",
    "seed",
    "failure_reason",
    "worker",
    "started_at",
    "finished_at",
    "digest",
    "arch_json",
]
_JOINED = {"study": "s.name", "digest": "a.digest", "arch_json": "a.arch_json"}  # the rest are nb_trials'


def _trials_sql(with_evaluator: bool) -> str:
    # A database older than revision 0003 (read, never upgraded, by a reader) has no evaluator
    # column: its trials were all trained from scratch.
    fields = {**_JOINED, "evaluator": "t.evaluator" if with_evaluator else "'scratch'"}
    return (
        "SELECT "
        + ", ".join(f"{fields.get(c, 't.' + c)} AS {c}" for c in TRIAL_COLUMNS)
        + ", t.trial_id, t.fidelity_json AS fidelity, t.metrics_json AS metrics"
        " FROM nb_trials t JOIN nb_studies s ON s.study_id = t.study_id"
        " LEFT JOIN nb_architectures a ON a.architecture_id = t.architecture_id"
    )


_TYPES: dict[str, TypeEngine[Any]] = {
    "started_at": DateTime(),
    "finished_at": DateTime(),
    "fidelity": JSON(),
    "metrics": JSON(),
}


def trial_records(
    engine_or_url: Engine | str | None = None, study: str | None = None, with_arch: bool = False
) -> list[dict[str, Any]]:
    """All trials (optionally of one study) as dicts, the rows of ``load_trials`` without pandas.

    Keys: ``trial_columns(with_arch)``: ``arch`` is an ``Architecture``; states, stages and
    families are plain strings. A URL is opened for reading: a SQLite file that does not exist is
    an error, never created, and an unknown study is named, never an empty list.
    """
    from nasbench.store.db import reading

    with reading(open_rows(engine_or_url)) as conn:
        rows = trial_rows(conn, study)
    if with_arch:
        for r in rows:
            r["arch"] = parse_arch(r["arch_json"])
    return rows


def trial_columns(with_arch: bool = False) -> list[str]:
    """The keys of ``trial_records``, in ``load_trials``'s column order."""
    return [*TRIAL_COLUMNS, "trial_id", "fidelity", "metrics"] + (["arch"] if with_arch else [])


INTEGER_COLUMNS = ("number", "params", "flops", "epochs_run", "seed", "trial_id")


def trials_frame(records: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """Trial records as ``load_trials`` returns them: ``columns`` (default: ``trial_columns()``),
    counts as pandas' nullable integers. Imports pandas."""
    import pandas as pd

    columns = columns or trial_columns()
    return integers(pd.DataFrame(records, columns=columns), [c for c in INTEGER_COLUMNS if c in columns])


def integers(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Counts as pandas' nullable integers (a column with a missing value would otherwise be float)."""
    return df.astype({c: "Int64" for c in columns})


@lru_cache(maxsize=4096)
def parse_arch(arch_json: str | None) -> Architecture | None:
    """The Architecture a stored JSON text describes (parsed once per distinct text)."""
    return Architecture.from_json(arch_json) if arch_json else None


def trial_rows(conn: Connection, study: str | None = None) -> list[dict[str, Any]]:
    """Every trial (of ``study``, which must exist, unless None) as a dict: ``TRIAL_COLUMNS`` plus
    ``trial_id``, ``fidelity`` and ``metrics``; in study, stage and number order."""
    where = ""
    if study is not None:
        study_row(conn, study)
        where = " WHERE s.name = :study"
    with_evaluator = any(c["name"] == "evaluator" for c in inspect(conn).get_columns("nb_trials"))
    sql = text(f"{_trials_sql(with_evaluator)}{where} ORDER BY s.study_id, t.stage, t.number").columns(**_TYPES)
    return [dict(r) for r in conn.execute(sql, {"study": study}).mappings()]


def study_row(conn: Connection | Session, name: str) -> Any:
    """Study ``name``'s id, status, elapsed time and config; an unknown name raises ConfigError
    listing the studies."""
    sql = text("SELECT study_id, status, elapsed_s, config_json FROM nb_studies WHERE name = :name")
    row = conn.execute(sql.columns(config_json=JSON()), {"name": name}).first()
    if row is None:
        names = conn.execute(text("SELECT name FROM nb_studies ORDER BY study_id")).scalars().all()
        raise ConfigError(f"no study named {name!r} in the database; studies: {', '.join(names) or 'none'}.")
    return row


def open_rows(engine_or_url: Engine | str | None) -> Engine:
    """An Engine as given, or the database at a URL opened for reading (see ``open_reader``)."""
    from nasbench.store.db import open_reader

    return engine_or_url if isinstance(engine_or_url, Engine) else open_reader(engine_or_url)
