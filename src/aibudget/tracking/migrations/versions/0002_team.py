"""The team ledger: the scheduler's job id, project and user on every run; samples keyed by
run, node and sequence number (a node's batch stored once however often it is sent); each
run's nodes and accelerators; budgets per project; ingest tokens (hashed).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("job_id", "project", "user_name"):
        op.add_column("runs", sa.Column(column, sa.Text))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a primary key: the table is copied with the new key, every row
        # keeping its values and getting node '' (the one node of a run recorded before nodes).
        _samples_table("_samples_0002", ["run_id", "node", "seq"], with_node=True)
        op.execute(
            f"INSERT INTO _samples_0002 (run_id, node, {_KEPT}) SELECT run_id, '', {_KEPT} "
            "FROM samples"
        )
        op.drop_table("samples")
        op.rename_table("_samples_0002", "samples")
    else:
        op.add_column("samples", sa.Column("node", sa.Text, nullable=False, server_default=""))
        op.add_column("samples", sa.Column("rank", sa.Integer))
        op.drop_constraint("samples_pkey", "samples", type_="primary")
        op.create_primary_key("samples_pkey", "samples", ["run_id", "node", "seq"])
    op.create_table(
        "run_nodes",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("node", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("ranks", sa.Text, nullable=False, server_default="[]"),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.PrimaryKeyConstraint("run_id", "node", name="run_nodes_pkey"),
    )
    op.create_table(
        "run_devices",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("uuid", sa.String(128), nullable=False),
        sa.Column("node", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "uuid", name="run_devices_pkey"),
    )
    op.create_table(
        "budgets",
        sa.Column("project", sa.Text, primary_key=True),
        sa.Column("usd", sa.Float, nullable=False),
        sa.Column("scenario", sa.Text),
        sa.Column("set_at", sa.Float, nullable=False),
    )
    op.create_table(
        "ingest_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("runs_job_id", "runs", ["job_id"])
    op.create_index("runs_project", "runs", ["project"])


def downgrade() -> None:
    op.drop_index("runs_project", "runs")
    op.drop_index("runs_job_id", "runs")
    for table in ("ingest_tokens", "budgets", "run_devices", "run_nodes"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":
        _samples_table("_samples_0001", ["run_id", "seq"], with_node=False)
        op.execute(
            f"INSERT INTO _samples_0001 (run_id, {_KEPT}) SELECT run_id, {_KEPT} FROM samples "
            "WHERE node = ''"
        )
        op.drop_table("samples")
        op.rename_table("_samples_0001", "samples")
    else:
        op.drop_constraint("samples_pkey", "samples", type_="primary")
        op.execute("DELETE FROM samples WHERE node <> ''")
        op.drop_column("samples", "rank")
        op.drop_column("samples", "node")
        op.create_primary_key("samples_pkey", "samples", ["run_id", "seq"])
    with op.batch_alter_table("runs") as runs:
        runs.drop_column("user_name")
        runs.drop_column("project")
        runs.drop_column("job_id")


#: The columns of schema 0001's samples, kept as they are.
_KEPT = (
    "seq, t, elapsed_s, sensor, method, energy_j, power_w, cpu_s, rss_bytes, devices, tokens, "
    "step, note, error"
)


def _samples_table(name: str, key: list[str], with_node: bool) -> None:
    node = [sa.Column("node", sa.Text, nullable=False, server_default="")] if with_node else []
    rank = [sa.Column("rank", sa.Integer)] if with_node else []
    op.create_table(
        name,
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id"), nullable=False),
        *node,
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
        *rank,
        sa.PrimaryKeyConstraint(*key, name="samples_pkey"),
    )
