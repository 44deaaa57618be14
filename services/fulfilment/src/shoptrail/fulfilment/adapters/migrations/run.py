"""`migrate`: bring the database to the current schema (ours, then procrastinate's)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from procrastinate import App, PsycopgConnector
from psycopg import AsyncConnection

from shoptrail.kit.jobs import apply_errors_schema

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """Alembic configured from code: no alembic.ini to keep in step."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def migrate(database_url: str, conninfo: str) -> None:
    """Upgrade our tables to head, and install procrastinate's schema where it is missing.

    procrastinate's schema is applied whole on a fresh database; upgrading
    procrastinate later means applying its bundled SQL migrations
    (`procrastinate schema --migrations-path`) as an Alembic revision
    (deploy/README.md, "Jobs"). Then the table of jobs' last errors
    (`shoptrail.kit.jobs`), where missing.
    """
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")
    async with await AsyncConnection.connect(conninfo) as conn:
        present = await (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
    async with App(connector=PsycopgConnector(conninfo=conninfo)).open_async() as app:
        if present is None or present[0] is None:
            await app.schema_manager.apply_schema_async()
        await apply_errors_schema(app.connector)  # type: ignore[arg-type]
