"""`shoptrail-ingest`: run the ingest service."""

from __future__ import annotations

import argparse

import uvicorn

import shoptrail.ingest
from shoptrail.ingest.bootstrap import create_app
from shoptrail.ingest.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-ingest` command."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-ingest",
        description=shoptrail.ingest.__doc__,
        epilog="Settings come from INGEST_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", help="bind address (default: INGEST_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: INGEST_PORT or 8001)")
    args = parser.parse_args(argv)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
    )
