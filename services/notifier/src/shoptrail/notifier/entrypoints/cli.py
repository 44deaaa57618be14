"""`shoptrail-notifier`: run the notifier service."""

from __future__ import annotations

import argparse

import uvicorn

import shoptrail.notifier
from shoptrail.notifier.bootstrap import create_app
from shoptrail.notifier.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-notifier` command."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-notifier",
        description=shoptrail.notifier.__doc__,
        epilog="Settings come from NOTIFIER_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", help="bind address (default: NOTIFIER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: NOTIFIER_PORT or 8004)")
    args = parser.parse_args(argv)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
    )
