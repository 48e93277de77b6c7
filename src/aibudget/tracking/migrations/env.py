"""Alembic's environment: migrations run on the connection the ledger hands over."""

from __future__ import annotations

from alembic import context

from aibudget.tracking.schema import METADATA

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
