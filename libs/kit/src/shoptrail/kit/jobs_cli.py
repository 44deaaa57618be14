"""`<service> jobs list|retry|cancel`: a service's job queue from a shell (see `jobs`).

A service's CLI adds the command with `add_jobs_command(subparsers)` and runs it
with `run_jobs_command(args, conninfo=…, stalled_after_s=…)`, which returns the
exit status: 0 done, 1 refused (unknown id, wrong state: one line on stderr),
3 the database is not answering.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from shoptrail.kit.jobs import (
    LIST_LIMIT,
    STATE_FILTERS,
    JobInfo,
    JobNotFoundError,
    JobQueue,
    JobStateError,
    open_job_queue,
)

REFUSED = 1
UNAVAILABLE = 3


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_jobs_command(sub: Any, *, service: str) -> None:
    """Add `jobs` (with `list`, `retry`, `cancel`) to a CLI's subcommands."""
    jobs = sub.add_parser(
        "jobs",
        help="list, retry or cancel background jobs",
        description=f"See and steer {service}'s background jobs (its procrastinate queue).",
        epilog="Exit status: 0 done, 1 refused (unknown id or wrong state), "
        "3 the database is not answering.",
    )
    actions = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="list jobs by state", description="Jobs by state, newest first."
    )
    listing.add_argument(
        "--state",
        choices=STATE_FILTERS,
        default="all",
        help="failed: gave up; stalled: its worker stopped sending heartbeats; waiting: "
        "to run now or later; running: being done; all: the four (default)",
    )
    listing.add_argument(
        "--limit",
        type=_positive,
        default=LIST_LIMIT,
        help=f"at most this many of each state (default {LIST_LIMIT})",
    )
    listing.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    retry = actions.add_parser(
        "retry",
        help="put a failed or stalled job back in the queue",
        description="Put a failed or stalled job back in the queue, once: it runs as soon as "
        "a worker is free. A job already waiting or running is refused.",
    )
    retry.add_argument("job_id", metavar="ID", type=int, help="the job's id (from `jobs list`)")
    cancel = actions.add_parser(
        "cancel",
        help="cancel a waiting job",
        description="Cancel a waiting job so that it never runs.",
    )
    cancel.add_argument("job_id", metavar="ID", type=int, help="the job's id (from `jobs list`)")
    cancel.add_argument(
        "--abort",
        action="store_true",
        help="also ask a running job to stop: its worker cancels it at its next await",
    )


async def run_jobs_command(
    args: argparse.Namespace,
    *,
    conninfo: str,
    stalled_after_s: float,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Run the parsed `jobs` command; the process's exit status."""
    from procrastinate.exceptions import ConnectorException
    from psycopg import Error as DatabaseError

    try:
        async with open_job_queue(conninfo, stalled_after_s=stalled_after_s) as queue:
            await _run(args, queue, out)
    except (JobNotFoundError, JobStateError) as exc:
        print(f"error: {exc}", file=err)
        return REFUSED
    except (ConnectorException, DatabaseError) as exc:
        cause = exc.__cause__ or exc
        print(
            f"error: the job queue's database is not answering ({type(cause).__name__})", file=err
        )
        return UNAVAILABLE
    return 0


async def _run(args: argparse.Namespace, queue: JobQueue, out: TextIO) -> None:
    if args.jobs_command == "list":
        jobs = await queue.list(args.state, limit=args.limit)
        if args.json:
            json.dump([job.model_dump(mode="json") for job in jobs], out, indent=2)
            out.write("\n")
        else:
            out.write(table(jobs))
    elif args.jobs_command == "retry":
        job = await queue.retry(args.job_id)
        print(f"job {job.id} ({job.task}) is waiting to run again", file=out)
    elif args.jobs_command == "cancel":
        job = await queue.cancel(args.job_id, abort=args.abort)
        done = "cancelled" if job.state == "cancelled" else "asked to stop"
        print(f"job {job.id} ({job.task}) {done}", file=out)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


def table(jobs: list[JobInfo]) -> str:
    """Jobs as an aligned text table (one line each; the error cut to fit)."""
    if not jobs:
        return "no jobs\n"
    header = ("ID", "STATE", "TASK", "QUEUE", "TRIES", "SCHEDULED", "STARTED", "LAST ERROR")
    rows = [
        (
            str(job.id),
            job.state.value,
            job.task,
            job.queue,
            str(job.attempts),
            _when(job.scheduled_at),
            _when(job.started_at),
            (job.last_error or "-")[:80],
        )
        for job in jobs
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in (header, *rows)
    ]
    return "\n".join(lines) + "\n"
