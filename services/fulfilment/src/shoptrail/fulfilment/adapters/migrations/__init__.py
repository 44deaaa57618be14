"""Alembic migrations of fulfilment's tables, and procrastinate's schema."""
