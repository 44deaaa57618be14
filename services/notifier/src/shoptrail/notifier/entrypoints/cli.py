"""`shoptrail-notifier`: run the notifier service."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys

import shoptrail.notifier
from shoptrail.kit.jobs_cli import add_jobs_command, run_jobs_command
from shoptrail.kit.logging import configure_logging, process_name
from shoptrail.kit.serving import serve
from shoptrail.kit.tracing import configure_tracing
from shoptrail.kit.workers import run_until_signalled
from shoptrail.notifier.adapters.jobs import psycopg_conninfo
from shoptrail.notifier.adapters.migrations import migrate
from shoptrail.notifier.bootstrap import create_app, run_worker
from shoptrail.notifier.config import Settings

_TOKEN_IN_PATH = re.compile(r"(/unsubscribe/)[^/?\s\"]+")


class _RedactUnsubscribeTokens(logging.Filter):
    """Access logs must not carry unsubscribe tokens: they contain the customer's address."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub(r"\1…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    logging.getLogger("uvicorn.access").addFilter(_RedactUnsubscribeTokens())
    serve(create_app(settings), host=host or settings.host, port=port or settings.port)


async def _work(settings: Settings, concurrency: int, port: int | None) -> None:
    await run_worker(settings, concurrency=concurrency, port=port)


def build_parser() -> argparse.ArgumentParser:
    """The `shoptrail-notifier` command line."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-notifier",
        description=shoptrail.notifier.__doc__,
        epilog="Settings come from NOTIFIER_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve HTTP (settings, unsubscribe), consume Kafka, relay the outbox"
    )
    serve.add_argument("--host", help="bind address (default: NOTIFIER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: NOTIFIER_PORT or 8004)")
    worker = sub.add_parser(
        "worker", help="run jobs: send emails (with retries), recovery tick, nightly prune"
    )
    worker.add_argument("--concurrency", type=int, default=4, help="jobs in parallel")
    worker.add_argument(
        "--port",
        type=int,
        help="port of /healthz, /readyz, /metrics (default: NOTIFIER_WORKER_PORT or 8014)",
    )
    sub.add_parser("migrate", help="create or upgrade the notifier's tables and the job queue's")
    add_jobs_command(sub, service="the notifier")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-notifier` command."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, service=process_name("notifier", args.command))
    configure_tracing(process_name("notifier", args.command))
    if args.command == "serve":
        _serve(settings, args.host, args.port)
    elif args.command == "worker":
        run_until_signalled(_work(settings, args.concurrency, args.port))
    elif args.command == "migrate":
        asyncio.run(migrate(settings.database_url))
    elif args.command == "jobs":
        conninfo = psycopg_conninfo(settings.database_url)
        sys.exit(
            asyncio.run(
                run_jobs_command(args, conninfo=conninfo, stalled_after_s=settings.stalled_after_s)
            )
        )
