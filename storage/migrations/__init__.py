"""Alembic migrations of the records store."""
