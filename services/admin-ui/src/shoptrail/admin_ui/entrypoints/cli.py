"""`shoptrail-admin-ui`: run the admin-ui service."""

from __future__ import annotations

import argparse

import uvicorn

import shoptrail.admin_ui
from shoptrail.admin_ui.bootstrap import create_app
from shoptrail.admin_ui.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-admin-ui` command."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-admin-ui",
        description=shoptrail.admin_ui.__doc__,
        epilog="Settings come from ADMIN_UI_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", help="bind address (default: ADMIN_UI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: ADMIN_UI_PORT or 8000)")
    args = parser.parse_args(argv)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
    )
