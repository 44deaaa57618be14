"""Bringing a database up to date: the notifier's tables (Alembic) and the job queue's."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shoptrail.kit.jobs import apply_errors_schema
from shoptrail.notifier.adapters.jobs import apply_job_schema, create_job_app

ALEMBIC = Path(__file__).resolve().parent / "alembic"


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(database_url: str) -> None:
    """Apply every pending migration (idempotent: safe to run on each deploy)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
    jobs = create_job_app(database_url)
    async with jobs.open_async():
        await apply_job_schema(jobs)
        await apply_errors_schema(jobs.connector)  # type: ignore[arg-type]
