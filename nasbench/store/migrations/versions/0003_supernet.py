"""Weight-sharing search (issue 13): each trial says how it was scored, and a study keeps the latest
checkpoint of its supernet.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every trial stored before this revision was trained from scratch.
    with op.batch_alter_table("nb_trials") as batch:
        batch.add_column(sa.Column("evaluator", sa.String(16), server_default="scratch", nullable=False))
    op.create_table(
        "nb_checkpoints",
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("nb_studies.study_id", ondelete="CASCADE"),
                  primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nb_checkpoints")
    with op.batch_alter_table("nb_trials") as batch:
        batch.drop_column("evaluator")
