"""`shoptrail-fulfilment`: serve, work, migrate, sync, or run the fake provider."""

from __future__ import annotations

import argparse
import asyncio
import sys

import shoptrail.fulfilment
from shoptrail.fulfilment.config import Settings
from shoptrail.kit.jobs_cli import add_jobs_command, run_jobs_command
from shoptrail.kit.logging import configure_logging, process_name
from shoptrail.kit.serving import serve
from shoptrail.kit.tracing import configure_tracing


def build_parser() -> argparse.ArgumentParser:
    """The `shoptrail-fulfilment` command line."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-fulfilment",
        description=shoptrail.fulfilment.__doc__,
        epilog="Settings come from FULFILMENT_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP actions, consume ingest, relay the outbox")
    serve.add_argument("--host", help="bind address (default: FULFILMENT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: FULFILMENT_PORT or 8003)")
    worker = sub.add_parser("worker", help="run background jobs and relay the outbox")
    worker.add_argument("--name", default="fulfilment-worker", help="worker name in logs")
    worker.add_argument(
        "--port",
        type=int,
        help="port of /healthz, /readyz, /metrics (default: FULFILMENT_WORKER_PORT or 8013)",
    )
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sync = sub.add_parser("sync", help="queue a product sync now")
    sync.add_argument(
        "provider", choices=["Printify", "Printful"], help="the provider whose products to sync"
    )
    add_jobs_command(sub, service="fulfilment")
    fake = sub.add_parser("fake-provider", help="serve a fake Printify + Printful API")
    fake.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    fake.add_argument("--port", type=int, default=8090, help="port (default: 8090)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-fulfilment` command."""
    args = build_parser().parse_args(argv)
    if args.command == "fake-provider":
        from shoptrail.fulfilment.devtools.fake_provider import run

        run(args.host, args.port)
        return
    settings = Settings()
    configure_logging(settings.log_level, service=process_name("fulfilment", args.command))
    configure_tracing(process_name("fulfilment", args.command))
    if args.command == "serve":
        from shoptrail.fulfilment.bootstrap import create_app

        serve(
            create_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
        )
    elif args.command == "worker":
        from shoptrail.fulfilment.bootstrap import run_worker
        from shoptrail.kit.workers import run_until_signalled

        run_until_signalled(run_worker(settings, name=args.name, port=args.port))
    elif args.command == "migrate":
        from shoptrail.fulfilment.adapters.migrations.run import migrate

        asyncio.run(migrate(settings.database_url, settings.psycopg_conninfo))
    elif args.command == "sync":
        asyncio.run(_queue_sync(settings, args.provider))
    elif args.command == "jobs":
        sys.exit(
            asyncio.run(
                run_jobs_command(
                    args,
                    conninfo=settings.psycopg_conninfo,
                    stalled_after_s=settings.stalled_after_s,
                )
            )
        )


async def _queue_sync(settings: Settings, provider: str) -> None:
    from shoptrail.fulfilment.bootstrap import open_services
    from shoptrail.fulfilment.service_layer import actions
    from shoptrail.fulfilment.service_layer.ports import AlreadyQueuedError

    services = open_services(settings)
    try:
        job_id = await actions.request_sync(provider=provider, uow=services.uow())  # type: ignore[arg-type]
        print(f"queued product sync with {provider}: job {job_id}")
    except AlreadyQueuedError as exc:
        print(f"a product sync with {provider} is already queued: job {exc.job_id}")
    finally:
        await services.aclose()
