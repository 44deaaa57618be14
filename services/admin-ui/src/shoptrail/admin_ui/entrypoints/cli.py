"""`shoptrail-admin-ui`: run the admin-ui service, or hash a password for `ADMIN_UI_ADMINS`."""

from __future__ import annotations

import argparse
import getpass
import sys

import shoptrail.admin_ui
from shoptrail.admin_ui.auth.passwords import hash_password
from shoptrail.admin_ui.auth.strength import password_problem
from shoptrail.admin_ui.bootstrap import create_app
from shoptrail.admin_ui.config import Settings
from shoptrail.kit.logging import configure_logging, process_name
from shoptrail.kit.serving import serve
from shoptrail.kit.tracing import configure_tracing


def build_parser() -> argparse.ArgumentParser:
    """The `shoptrail-admin-ui` command line."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-admin-ui",
        description=shoptrail.admin_ui.__doc__,
        epilog="Settings come from ADMIN_UI_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP")
    serve.add_argument("--host", help="bind address (default: ADMIN_UI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: ADMIN_UI_PORT or 8000)")
    hasher = sub.add_parser(
        "hash-password",
        help="print an argon2 hash for ADMIN_UI_ADMINS (reads the password from stdin or a prompt)",
    )
    hasher.add_argument("username", nargs="?", help="print `username:<hash>` ready to paste")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `shoptrail-admin-ui` command."""
    args = build_parser().parse_args(argv)
    if args.command == "hash-password":
        sys.exit(_hash_password(args.username))
    settings = Settings()
    configure_logging(settings.log_level, service=process_name("admin-ui", args.command))
    configure_tracing(process_name("admin-ui", args.command))
    serve(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )


def _hash_password(username: str | None) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("The passwords differ.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    problem = password_problem(password, username=username)
    if problem:
        print(f"Too weak: {problem}.", file=sys.stderr)
        return 1
    hashed = hash_password(password)
    print(f"{username}:{hashed}" if username else hashed)
    return 0
