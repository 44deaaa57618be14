"""The PostgreSQL job queue (procrastinate): the app, its schema, and the email queue port."""

from __future__ import annotations

import contextlib
from uuid import UUID

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from psycopg.rows import tuple_row
from sqlalchemy.engine import make_url

from shoptrail.events.tracing import job_args
from shoptrail.notifier.service_layer.ports import EmailQueue

SEND_EMAIL = "notifier.send_email"
SEND_DUE_RECOVERY_EMAILS = "notifier.send_due_recovery_emails"
PRUNE_ABANDONED_CARTS = "notifier.prune_abandoned_carts"


def psycopg_conninfo(database_url: str) -> str:
    """The libpq URL procrastinate's psycopg connector wants, from our SQLAlchemy URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_job_app(database_url: str) -> procrastinate.App:
    """A procrastinate app on the notifier's database (tasks are registered separately)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=psycopg_conninfo(database_url), min_size=1, max_size=4
    )
    return procrastinate.App(connector=connector)


async def apply_job_schema(app: procrastinate.App) -> bool:
    """Install procrastinate's tables and functions unless present; True if installed now."""
    pool = app.connector.pool  # type: ignore[attr-defined]
    async with pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
        row = await cursor.fetchone()
    if row and row[0]:
        return False
    await app.schema_manager.apply_schema_async()
    return True


class ProcrastinateEmailQueue(EmailQueue):
    """Defers `notifier.send_email`; a queueing lock keeps one waiting job per email."""

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app

    async def enqueue(self, email_id: UUID) -> None:
        deferrer = self._app.configure_task(SEND_EMAIL, queueing_lock=f"email:{email_id}")
        with contextlib.suppress(AlreadyEnqueued):  # one is already waiting for this email
            await deferrer.defer_async(**job_args(email_id=str(email_id)))
