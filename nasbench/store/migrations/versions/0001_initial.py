"""The schema of the releases before migrations (commit 7282676): studies, trials, epochs, benchmarks.

Those releases created their tables with ``create_all`` and kept no revision, so a database they
wrote arrives here with some or all of these tables already present and no ``nb_alembic_version``
row. This revision therefore creates only the tables that are missing (the benchmark tables exist
only where a benchmark command ran) after checking that the present ones have every column it
declares; on a new database it simply creates all of them.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from nasbench.errors import StoreError

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# Columns of one kind are made by one helper; the tables stay those of commit 7282676 to the letter
# (same columns, types, order, keys and defaults).
def _id(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), primary_key=True, autoincrement=True)


def _parent(name: str, table: str, nullable: bool = False, cascade: bool = True) -> sa.Column:
    """A reference to the column ``name`` of ``table`` (rows deleted with their parent when ``cascade``)."""
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.{name}", ondelete="CASCADE" if cascade else None),
                     nullable=nullable)


def _required(kind: Callable[[], Any], *names: str) -> list:
    return [sa.Column(name, kind(), nullable=False) for name in names]


def _optional(kind: Callable[[], Any], *names: str) -> list:
    return [sa.Column(name, kind(), nullable=True) for name in names]


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(), server_default=sa.func.now(), nullable=False)


def _unique_name() -> sa.Column:
    return sa.Column("name", sa.String(255), nullable=False, unique=True)


# The column sets several tables share.
def _figures() -> list:
    """What a network measures (trials, benchmark architectures)."""
    return [*_optional(sa.Integer, "params", "flops"), *_optional(sa.Double, "latency_ms")]


def _scores() -> list:
    """What a training reached (trials, benchmark runs)."""
    return _optional(sa.Double, "val_acc", "val_loss", "test_acc", "test_loss")


def _curve(key: str, parent: str, parent_table: str, *extra: sa.Column) -> list:
    """A learning-curve table, one epoch of one parent a row (trial epochs, benchmark curves)."""
    return [
        _id(key),
        _parent(parent, parent_table),
        *_required(sa.Integer, "epoch"),
        *_optional(sa.Double, "train_loss", "val_loss", "val_acc", "epoch_time_s"),
        *extra,
        sa.UniqueConstraint(parent, "epoch"),
    ]


def _studies() -> list:
    return [
        _id("study_id"),
        _unique_name(),
        _now("created_at"),
        *_required(sa.JSON, "config_json"),
        *_required(sa.Text, "study_file"),
        sa.Column("study_file_hash", sa.String(64), nullable=False),
        *_required(sa.JSON, "space_json", "dataset_json", "split_json"),
        *_required(sa.Double, "elapsed_s"),
        sa.Column("status", sa.String(32), nullable=False),
    ]


def _architectures() -> list:
    return [
        _id("architecture_id"),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        *_required(sa.Text, "arch_json", "summary"),
    ]


def _trials() -> list:
    return [
        _id("trial_id"),
        _parent("study_id", "nb_studies"),
        *_required(sa.Integer, "number"),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("family", sa.String(16), nullable=False),
        *_required(sa.Text, "name"),
        _parent("architecture_id", "nb_architectures", nullable=True, cascade=False),
        sa.Column("state", sa.String(16), nullable=False),
        *_required(sa.Integer, "seed"),
        *_required(sa.JSON, "fidelity_json"),
        *_figures(),
        *_scores(),
        *_required(sa.Integer, "epochs_run"),
        *_optional(sa.Double, "train_time_s"),
        _now("started_at"),
        *_optional(sa.DateTime, "finished_at"),
        *_optional(sa.Text, "failure_reason", "traceback"),
        sa.Column("worker", sa.String(255), nullable=True),
        *_required(sa.JSON, "provenance_json", "metrics_json"),
        sa.UniqueConstraint("study_id", "number", "stage"),
    ]


def _epochs() -> list:
    return _curve("epoch_id", "trial_id", "nb_trials", *_optional(sa.Double, "train_samples_per_s"))


def _benchmarks() -> list:
    return [
        _id("benchmark_id"),
        _unique_name(),
        _now("created_at"),
        *_required(sa.JSON, "space_json", "data_json", "dataset_json", "split_json", "recipe_json", "budgets_json"),
        *_required(sa.Integer, "seeds", "sample_seed", "threads"),
        *_optional(sa.Integer, "cardinality"),
        *_required(sa.JSON, "provenance_json"),
    ]


def _bench_archs() -> list:
    return [
        _id("bench_arch_id"),
        _parent("benchmark_id", "nb_benchmarks"),
        _parent("architecture_id", "nb_architectures", cascade=False),
        *_required(sa.Integer, "position"),
        *_optional(sa.Text, "infeasible_reason"),
        *_figures(),
        sa.UniqueConstraint("benchmark_id", "architecture_id"),
        sa.UniqueConstraint("benchmark_id", "position"),
    ]


def _bench_entries() -> list:
    return [
        _id("entry_id"),
        _parent("bench_arch_id", "nb_bench_archs"),
        *_required(sa.Integer, "epochs", "seed"),
        *_required(sa.String, "state"),
        *_scores(),
        *_optional(sa.Double, "train_time_s", "eval_time_s"),
        *_optional(sa.Text, "failure_reason"),
        _now("finished_at"),
        sa.UniqueConstraint("bench_arch_id", "epochs", "seed"),
    ]


def _bench_curves() -> list:
    return _curve("curve_id", "entry_id", "nb_bench_entries")


# In creation order (every table after the tables its foreign keys point to).
TABLES: dict[str, Callable[[], list]] = {
    "nb_studies": _studies,
    "nb_architectures": _architectures,
    "nb_trials": _trials,
    "nb_epochs": _epochs,
    "nb_benchmarks": _benchmarks,
    "nb_bench_archs": _bench_archs,
    "nb_bench_entries": _bench_entries,
    "nb_bench_curves": _bench_curves,
}


def upgrade() -> None:
    for name, columns in TABLES.items():
        inspector = sa.inspect(op.get_bind())  # fresh each time: it caches what it has seen
        if inspector.has_table(name):
            _check_columns(name, columns(), {c["name"] for c in inspector.get_columns(name)})
        else:
            op.create_table(name, *columns())


def _check_columns(table: str, declared: list, present: set[str]) -> None:
    missing = [c.name for c in declared if isinstance(c, sa.Column) and c.name not in present]
    if missing:
        raise StoreError(f"table {table} has no column {', '.join(missing)}: the database was not "
                         f"written by a nasbench release this version can upgrade.")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
