"""`shoptrail-ingest`: serve the webhooks, reconcile missed Stripe events, or fake Stripe's API."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from datetime import UTC, datetime, timedelta

import shoptrail.ingest
from shoptrail.events.publisher import EventPublisher
from shoptrail.ingest.adapters.kafka import KafkaEventSink
from shoptrail.ingest.bootstrap import connected, create_app, create_producer, create_stripe_api
from shoptrail.ingest.config import Settings
from shoptrail.ingest.domain.errors import UpstreamUnavailableError
from shoptrail.ingest.entrypoints.admission import Door
from shoptrail.ingest.service_layer.reconcile import ReconcileReport, parse_duration, reconcile
from shoptrail.kit.logging import configure_logging, process_name
from shoptrail.kit.serving import serve
from shoptrail.kit.tracing import configure_tracing

RECONCILE_HELP = """\
List the Stripe events of the handled types (checkout.session.completed,
checkout.session.expired, charge.refunded) created within --since whose
webhook delivery failed (Stripe's List Events with delivery_success=false),
and publish them to Kafka exactly as their webhooks would have.

Safe to run at any time and as often as you like: event ids are derived from
Stripe's event ids, so an event that did arrive after all is the same event
and consumers keep one copy. Exit status 0 when everything was published,
1 if an event was unreadable, 2 if Stripe or Kafka did not answer.
"""


def build_parser() -> argparse.ArgumentParser:
    """The `shoptrail-ingest` command line."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-ingest",
        description=shoptrail.ingest.__doc__,
        epilog="Settings come from INGEST_* environment variables (see config.py).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the webhook endpoints over HTTP")
    serve.add_argument("--host", help="bind address (default: INGEST_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: INGEST_PORT or 8001)")
    rec = sub.add_parser(
        "reconcile",
        help="publish Stripe events whose webhook delivery failed",
        description=RECONCILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rec.add_argument(
        "--since",
        type=_duration,
        default=timedelta(days=2),
        metavar="DURATION",
        help="how far back to look: 90s, 15m, 12h, 2d … up to 30d (default: 2d)",
    )
    rec.add_argument(
        "--dry-run", action="store_true", help="list what would be published, publish nothing"
    )
    fake = sub.add_parser(
        "fake-stripe", help="serve a fake Stripe API (the calls ingest makes) for demos"
    )
    fake.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    fake.add_argument("--port", type=int, default=8091, help="port (default: 8091)")
    return parser


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def run_reconcile(settings: Settings, since: timedelta, dry_run: bool) -> ReconcileReport:
    """Connect to Kafka and Stripe, reconcile, disconnect."""
    producer = create_producer(settings)
    sink = KafkaEventSink(
        EventPublisher(producer, settings.topic), timeout=settings.publish_timeout_seconds
    )
    stripe = create_stripe_api(settings)
    async with connected(producer, sink, stripe):
        return await reconcile(
            since=datetime.now(UTC) - since, stripe=stripe, sink=sink, dry_run=dry_run
        )


BACKLOG = 2048
"""uvicorn's default: connections the kernel completes and holds until ingest takes them."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-ingest` command."""
    args = build_parser().parse_args(argv)
    if args.command == "fake-stripe":
        from shoptrail.ingest.devtools.fake_stripe import run

        run(args.host, args.port)
        return
    settings = Settings()
    configure_logging(settings.log_level, service=process_name("ingest", args.command))
    configure_tracing(process_name("ingest", args.command))
    if args.command == "serve":
        # The listening socket is ours, so admission can see who waits at the door.
        listening = socket.create_server(
            (args.host or settings.host, args.port or settings.port), backlog=BACKLOG
        )
        app = create_app(settings, door=Door(listening))
        serve(app, sockets=[listening])
        return
    try:
        report = asyncio.run(run_reconcile(settings, args.since, args.dry_run))
    except UpstreamUnavailableError as exc:
        print(f"reconcile stopped: {exc}; run it again once it answers", file=sys.stderr)
        sys.exit(2)
    for line in report.published:
        print(f"published  {line}")
    for line in report.already_published:
        print(f"present    {line}")
    for line in report.would_publish:
        print(f"would publish {line}")
    for line in report.ignored:
        print(f"ignored    {line}")
    for line in report.unreadable:
        print(f"unreadable {line}", file=sys.stderr)
    print(report.summary())
    if report.unreadable:
        sys.exit(1)


if __name__ == "__main__":
    main()
