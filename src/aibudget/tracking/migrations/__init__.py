"""Alembic migrations of the ledger's schema (run by :mod:`aibudget.tracking.ledger`)."""
