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

import sqlalchemy as sa
from alembic import op

from nasbench.errors import StoreError

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _studies() -> list:
    return [
        sa.Column("study_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("config_json", sa.JSON(), nullable=False),
        sa.Column("study_file", sa.Text(), nullable=False),
        sa.Column("study_file_hash", sa.String(64), nullable=False),
        sa.Column("space_json", sa.JSON(), nullable=False),
        sa.Column("dataset_json", sa.JSON(), nullable=False),
        sa.Column("split_json", sa.JSON(), nullable=False),
        sa.Column("elapsed_s", sa.Double(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
    ]


def _architectures() -> list:
    return [
        sa.Column("architecture_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("arch_json", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    ]


def _trials() -> list:
    return [
        sa.Column("trial_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("nb_studies.study_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("family", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("architecture_id", sa.Integer(), sa.ForeignKey("nb_architectures.architecture_id"),
                  nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("fidelity_json", sa.JSON(), nullable=False),
        sa.Column("params", sa.Integer(), nullable=True),
        sa.Column("flops", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("val_acc", sa.Double(), nullable=True),
        sa.Column("val_loss", sa.Double(), nullable=True),
        sa.Column("test_acc", sa.Double(), nullable=True),
        sa.Column("test_loss", sa.Double(), nullable=True),
        sa.Column("epochs_run", sa.Integer(), nullable=False),
        sa.Column("train_time_s", sa.Double(), nullable=True),
        sa.Column("started_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("provenance_json", sa.JSON(), nullable=False),
        sa.Column("metrics_json", sa.JSON(), nullable=False),
        sa.UniqueConstraint("study_id", "number", "stage"),
    ]


def _epochs() -> list:
    return [
        sa.Column("epoch_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("trial_id", sa.Integer(), sa.ForeignKey("nb_trials.trial_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("train_loss", sa.Double(), nullable=True),
        sa.Column("val_loss", sa.Double(), nullable=True),
        sa.Column("val_acc", sa.Double(), nullable=True),
        sa.Column("epoch_time_s", sa.Double(), nullable=True),
        sa.Column("train_samples_per_s", sa.Double(), nullable=True),
        sa.UniqueConstraint("trial_id", "epoch"),
    ]


def _benchmarks() -> list:
    return [
        sa.Column("benchmark_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("space_json", sa.JSON(), nullable=False),
        sa.Column("data_json", sa.JSON(), nullable=False),
        sa.Column("dataset_json", sa.JSON(), nullable=False),
        sa.Column("split_json", sa.JSON(), nullable=False),
        sa.Column("recipe_json", sa.JSON(), nullable=False),
        sa.Column("budgets_json", sa.JSON(), nullable=False),
        sa.Column("seeds", sa.Integer(), nullable=False),
        sa.Column("sample_seed", sa.Integer(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=False),
        sa.Column("cardinality", sa.Integer(), nullable=True),
        sa.Column("provenance_json", sa.JSON(), nullable=False),
    ]


def _bench_archs() -> list:
    return [
        sa.Column("bench_arch_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("benchmark_id", sa.Integer(),
                  sa.ForeignKey("nb_benchmarks.benchmark_id", ondelete="CASCADE"), nullable=False),
        sa.Column("architecture_id", sa.Integer(), sa.ForeignKey("nb_architectures.architecture_id"),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("infeasible_reason", sa.Text(), nullable=True),
        sa.Column("params", sa.Integer(), nullable=True),
        sa.Column("flops", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.UniqueConstraint("benchmark_id", "architecture_id"),
        sa.UniqueConstraint("benchmark_id", "position"),
    ]


def _bench_entries() -> list:
    return [
        sa.Column("entry_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bench_arch_id", sa.Integer(),
                  sa.ForeignKey("nb_bench_archs.bench_arch_id", ondelete="CASCADE"), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("val_acc", sa.Double(), nullable=True),
        sa.Column("val_loss", sa.Double(), nullable=True),
        sa.Column("test_acc", sa.Double(), nullable=True),
        sa.Column("test_loss", sa.Double(), nullable=True),
        sa.Column("train_time_s", sa.Double(), nullable=True),
        sa.Column("eval_time_s", sa.Double(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("bench_arch_id", "epochs", "seed"),
    ]


def _bench_curves() -> list:
    return [
        sa.Column("curve_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer(),
                  sa.ForeignKey("nb_bench_entries.entry_id", ondelete="CASCADE"), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("train_loss", sa.Double(), nullable=True),
        sa.Column("val_loss", sa.Double(), nullable=True),
        sa.Column("val_acc", sa.Double(), nullable=True),
        sa.Column("epoch_time_s", sa.Double(), nullable=True),
        sa.UniqueConstraint("entry_id", "epoch"),
    ]


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
