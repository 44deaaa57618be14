"""`shoptrail-activity`: run the activity service."""

from __future__ import annotations

import argparse

import uvicorn

import shoptrail.activity
from shoptrail.activity.bootstrap import create_app
from shoptrail.activity.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-activity` command."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-activity",
        description=shoptrail.activity.__doc__,
        epilog="Settings come from ACTIVITY_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", help="bind address (default: ACTIVITY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: ACTIVITY_PORT or 8002)")
    args = parser.parse_args(argv)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
    )
