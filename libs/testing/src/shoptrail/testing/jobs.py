"""Jobs put in a service's procrastinate queue by a test: one that failed for good, one waiting.

procrastinate is imported here, not at the top: only the services that run
workers depend on it.
"""

from __future__ import annotations

from typing import Any

CUSTOMER = "jane.doe@example.com"
"""An address the failing task puts in its error: it must never reach an operator."""


async def fail_a_job(conninfo: str, task: str, **args: Any) -> int:
    """A job of `task` that failed for good, its last error kept; its id.

    The test's own worker runs it with a task of that name that raises (quoting
    a customer's address), as the service's worker would record it.
    """
    from procrastinate import App, PsycopgConnector

    from shoptrail.kit.jobs import record_job_errors

    app = App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=2))

    @app.task(name=task)
    async def failing(**kwargs: Any) -> None:
        raise RuntimeError(f"mail server refused {CUSTOMER}")

    async with app.open_async():
        job_id = await app.configure_task(task).defer_async(**args)
        await app.run_worker_async(
            wait=False, install_signal_handlers=False, worker_middleware=[record_job_errors()]
        )
    return job_id


async def queue_a_job(conninfo: str, task: str, **args: Any) -> int:
    """A job of `task` waiting for its time (an hour from now); its id."""
    from procrastinate import App, PsycopgConnector

    app = App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=2))
    async with app.open_async():
        deferrer = app.configure_task(task, schedule_in={"hours": 1}, allow_unknown=True)
        return await deferrer.defer_async(**args)
