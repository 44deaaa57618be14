"""`shoptrail-fulfilment`: run the fulfilment service."""

from __future__ import annotations

import argparse

import uvicorn

import shoptrail.fulfilment
from shoptrail.fulfilment.bootstrap import create_app
from shoptrail.fulfilment.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-fulfilment` command."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-fulfilment",
        description=shoptrail.fulfilment.__doc__,
        epilog="Settings come from FULFILMENT_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", help="bind address (default: FULFILMENT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: FULFILMENT_PORT or 8003)")
    args = parser.parse_args(argv)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
    )
