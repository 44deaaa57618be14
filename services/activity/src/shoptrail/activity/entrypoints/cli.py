"""`shoptrail-activity`: serve the log, migrate it, replay it from the topics, prune it."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import create_async_engine

import shoptrail.activity
from shoptrail.activity.adapters.log_migration import (
    CopyProgress,
    NotReadyError,
    copy_log,
    swap_log,
)
from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.pruning import prune
from shoptrail.activity.adapters.topic_reader import TopicReader
from shoptrail.activity.bootstrap import create_app
from shoptrail.activity.config import Settings
from shoptrail.activity.service_layer.replay import ReplayStats, replay
from shoptrail.kit.logging import configure_logging, process_name
from shoptrail.kit.runtime import tune_gc
from shoptrail.kit.serving import serve
from shoptrail.kit.tracing import configure_tracing

REPLAY_HELP = """\
Rebuild the activity log (and the order read model) from the beginning of every
event topic matching ACTIVITY_TOPIC_PATTERN. Entries go into fresh tables while
the live service keeps serving the old ones; when the topics are read to the
end, a final catch-up and the swap run in one transaction. The old tables are
kept as activity_log_previous / orders_previous until the next replay.
Manual resolutions are carried over from the live log; automatic ones are
recomputed. Replay relies on the topics keeping every event: see
deploy/README.md (retention.ms=-1 on every shoptrail.* topic).
"""

MIGRATE_LOG_HELP = """\
Move a big activity log into the partitioned table migration 0012 built beside it
(activity_log_next, which has received every write since the migration). Rows
are copied in batches of short transactions while the service keeps serving
and writing; then, with writers held for a moment (readers carry on), both
tables are checked to hold the same number of rows and the partitioned one is
renamed into place. The old table is kept as activity_log_unpartitioned
(unless --drop-old); drop it once satisfied. Safe to stop and run again: rows
already copied are skipped. See deploy/README.md.
"""


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal, every few seconds otherwise."""

    def __init__(self, stream: object = sys.stderr) -> None:
        self._stream = stream
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._last = 0.0

    def __call__(self, stats: ReplayStats, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self._tty else 5.0):
            return
        self._last = now
        done = stats.read / stats.expected if stats.expected else 1.0
        width = 30
        bar = "#" * int(done * width) + "-" * (width - int(done * width))
        rate = stats.read / max(now - self._started, 1e-9)
        line = (
            f"replay [{bar}] {done:6.1%} {stats.read:,}/{stats.expected:,} read · "
            f"{stats.inserted:,} inserted · {stats.duplicates:,} duplicates · "
            f"{stats.dead_lettered:,} dead-lettered · {rate:,.0f}/s"
        )
        end = "\n" if final or not self._tty else ""
        print(("\r" if self._tty else "") + line, end=end, file=self._stream, flush=True)  # type: ignore[call-overload]


async def _replay(settings: Settings, dry_run: bool, batch_size: int) -> int:
    engine = create_async_engine(settings.database_url)
    bar = ProgressBar()
    try:
        if not dry_run:
            await migrate(settings.database_url)
        stats = await replay(
            engine=engine,
            reader=TopicReader(settings.kafka, settings.topic_pattern),
            dry_run=dry_run,
            batch_size=batch_size,
            progress=bar,
            consumer=settings.group_id,
        )
    finally:
        await engine.dispose()
    bar(stats, final=True)
    print(f"topics: {', '.join(stats.topics) or '(none matched)'}")
    print(
        f"read {stats.read:,} · inserted {stats.inserted:,} · duplicates {stats.duplicates:,} · "
        f"dead-lettered {stats.dead_lettered:,}"
    )
    if dry_run:
        print("dry run: nothing was written")
    else:
        print(
            f"swapped in the rebuilt log; {stats.resolutions_kept:,} manual resolutions kept; "
            "previous tables: activity_log_previous, orders_previous"
        )
    return 0


async def _prune(settings: Settings, retention_days: int) -> int:
    engine = create_async_engine(settings.database_url)
    try:
        deleted = await prune(
            engine, retention=timedelta(days=retention_days), now=datetime.now(UTC)
        )
    finally:
        await engine.dispose()
    print(f"pruned {deleted:,} entries older than {retention_days} days")
    return 0


async def _migrate_log(settings: Settings, batch_size: int, drop_old: bool) -> int:
    engine = create_async_engine(settings.database_url)
    started = time.monotonic()

    def report(p: CopyProgress) -> None:
        rate = p.copied / max(time.monotonic() - started, 1e-9)
        done = min(p.read, p.total) / p.total if p.total else 1.0
        print(
            f"migrate-log {done:6.1%} · read up to id {p.last_id:,} · copied {p.copied:,} "
            f"of {p.total:,} · {rate:,.0f} rows/s",
            file=sys.stderr,
            flush=True,
        )

    try:
        await migrate(settings.database_url)
        progress = await copy_log(engine, batch_size=batch_size, progress=report)
        rows = await swap_log(engine, drop_old=drop_old)
    except NotReadyError as exc:
        print(f"migrate-log: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        f"copied {progress.copied:,} rows; activity_log is partitioned by month ({rows:,} rows)"
        + ("" if drop_old else "; the old table is activity_log_unpartitioned")
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `shoptrail-activity` command line."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-activity",
        description=shoptrail.activity.__doc__,
        epilog="Settings come from ACTIVITY_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API and consume every topic into the log")
    serve.add_argument("--host", help="bind address (default: ACTIVITY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: ACTIVITY_PORT or 8002)")
    sub.add_parser("migrate", help="apply database migrations")
    rp = sub.add_parser(
        "replay",
        help="rebuild the log from the topics",
        description=REPLAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.add_argument("--dry-run", action="store_true", help="read and count, write nothing")
    rp.add_argument("--batch-size", type=int, default=2000, help="messages per write (2000)")
    ml = sub.add_parser(
        "migrate-log",
        help="copy a big log into the partitioned table while serving, then swap",
        description=MIGRATE_LOG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ml.add_argument("--batch-size", type=int, default=10_000, help="rows per transaction (10000)")
    ml.add_argument("--drop-old", action="store_true", help="drop the old table at the swap")
    pr = sub.add_parser(
        "prune", help="drop months older than the retention (unresolved problems stay)"
    )
    pr.add_argument(
        "--retention-days",
        type=int,
        help="delete entries older than this many days (default: ACTIVITY_RETENTION_DAYS, 90)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `shoptrail-activity` command."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, service=process_name("activity", args.command))
    configure_tracing(process_name("activity", args.command))
    if args.command in ("serve", "replay") and settings.gc_gen0_threshold:
        # Consuming churns through short-lived objects: see shoptrail.kit.runtime.
        tune_gc(settings.gc_gen0_threshold)
    if args.command == "serve":
        serve(
            create_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            forwarded_allow_ips=settings.trusted_proxies,
            # Browsers only ever send pings here: small frames, a short queue, the
            # sans-I/O implementation and no per-connection zlib state (permessage-deflate
            # costs ~50 KB and CPU per connection) keep thousands of sockets cheap.
            ws=settings.ws_implementation,
            ws_max_size=settings.ws_max_message_bytes,
            ws_max_queue=4,
            ws_per_message_deflate=settings.ws_compression,
            # On shutdown, open WebSockets are asked to close; one that connected in the
            # same instant is not, and would hold the process until it is killed.
            timeout_graceful_shutdown=10,
        )
        return 0
    if args.command == "migrate":
        asyncio.run(migrate(settings.database_url))
        print("activity database is up to date")
        return 0
    if args.command == "replay":
        return asyncio.run(_replay(settings, args.dry_run, args.batch_size))
    if args.command == "migrate-log":
        return asyncio.run(_migrate_log(settings, args.batch_size, args.drop_old))
    return asyncio.run(_prune(settings, args.retention_days or settings.retention_days))


if __name__ == "__main__":
    sys.exit(main())
