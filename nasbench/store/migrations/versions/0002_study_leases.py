"""Study leases: the one live driver of each study (issue 17), renewed by a heartbeat.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nb_study_leases",
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("nb_studies.study_id", ondelete="CASCADE"),
                  primary_key=True, autoincrement=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_scope", sa.String(100), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("acquired_at", sa.Double(), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nb_study_leases")
