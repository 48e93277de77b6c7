"""The ledger as aibudget first wrote it: runs and samples (one node per run).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("command", sa.Text, nullable=False, server_default=""),
        sa.Column("scenario", sa.Text),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("interval_s", sa.Float, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("meta", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "samples",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("elapsed_s", sa.Float, nullable=False),
        sa.Column("sensor", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("energy_j", sa.Float),
        sa.Column("power_w", sa.Float),
        sa.Column("cpu_s", sa.Float),
        sa.Column("rss_bytes", sa.Float),
        sa.Column("devices", sa.Integer),
        sa.Column("tokens", sa.Float),
        sa.Column("step", sa.Float),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("run_id", "seq", name="samples_pkey"),
    )


def downgrade() -> None:
    op.drop_table("samples")
    op.drop_table("runs")
