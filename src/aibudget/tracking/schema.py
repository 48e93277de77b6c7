"""The ledger's tables, as SQLAlchemy Core metadata (the current schema: the Alembic
migrations under ``tracking/migrations`` build it from nothing or from an older ledger).

* ``runs``: one row per run (a multi-node job is one run), with the scheduler's job id, the
  project and the user it is charged to;
* ``samples``: the readings, keyed by run, node and sequence number, so a node's batch can be
  sent twice and stored once;
* ``run_nodes``: each node of a run, its ranks and how it ended;
* ``run_devices``: each accelerator a run used, by UUID (counted once however many ranks saw it);
* ``budgets``: a budget per project, set once in the ledger;
* ``ingest_tokens``: the tokens ``aibudget serve`` accepts batches with, stored as SHA-256
  hashes (a token is 32 random bytes: a fast hash is enough, nothing to brute-force).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

__all__ = ["HEAD", "METADATA", "budgets", "ingest_tokens", "run_devices", "run_nodes", "runs",
           "samples"]  # fmt: skip

#: The Alembic revision of the schema below.
HEAD = "0002"

METADATA = MetaData()

runs = Table(
    "runs",
    METADATA,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("command", Text, nullable=False, server_default=""),
    Column("scenario", Text),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("heartbeat_at", Float, nullable=False),
    Column("interval_s", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("exit_code", Integer),
    Column("pid", Integer, nullable=False),
    Column("host", Text, nullable=False),
    Column("meta", Text, nullable=False, server_default="{}"),
    Column("job_id", Text),
    Column("project", Text),
    Column("user_name", Text),
)

samples = Table(
    "samples",
    METADATA,
    Column("run_id", Text, ForeignKey("runs.id"), nullable=False),
    Column("node", Text, nullable=False, server_default=""),
    Column("seq", Integer, nullable=False),
    Column("t", Float, nullable=False),
    Column("elapsed_s", Float, nullable=False),
    Column("sensor", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("energy_j", Float),
    Column("power_w", Float),
    Column("cpu_s", Float),
    Column("rss_bytes", Float),
    Column("devices", Integer),
    Column("tokens", Float),
    Column("step", Float),
    Column("note", Text, nullable=False, server_default=""),
    Column("error", Text, nullable=False, server_default=""),
    Column("rank", Integer),
    PrimaryKeyConstraint("run_id", "node", "seq", name="samples_pkey"),
)

run_nodes = Table(
    "run_nodes",
    METADATA,
    Column("run_id", Text, ForeignKey("runs.id"), nullable=False),
    Column("node", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("ranks", Text, nullable=False, server_default="[]"),
    Column("heartbeat_at", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("exit_code", Integer),
    PrimaryKeyConstraint("run_id", "node", name="run_nodes_pkey"),
)

run_devices = Table(
    "run_devices",
    METADATA,
    Column("run_id", Text, ForeignKey("runs.id"), nullable=False),
    Column("uuid", String(128), nullable=False),
    Column("node", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "uuid", name="run_devices_pkey"),
)

budgets = Table(
    "budgets",
    METADATA,
    Column("project", Text, primary_key=True),
    Column("usd", Float, nullable=False),
    Column("scenario", Text),
    Column("set_at", Float, nullable=False),
)

ingest_tokens = Table(
    "ingest_tokens",
    METADATA,
    Column("token_hash", String(64), primary_key=True),
    Column("scope", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
