"""Adapters: PostgreSQL, the procrastinate job queue, the providers' HTTP APIs."""
