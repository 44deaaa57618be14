"""An SMTP sink for development: keeps every email and shows them in a browser.

    uv run python deploy/local/mailsink.py --smtp-port 1025 --http-port 8025 --dir .local/mail

Accepts any message over plain SMTP (aiosmtpd), writes it to `<dir>/<n>.eml`
and serves an index of them at `http://127.0.0.1:<http-port>/` — each message
readable as text, as its HTML part, or raw. `GET /api/messages` lists them as
JSON (tests read it). Nothing is ever relayed anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import json
import sys
from dataclasses import asdict, dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from shoptrail.kit.logging import configure_logging
from shoptrail.kit.serving import uvicorn_config


@dataclass(frozen=True)
class Summary:
    """What the index shows of one kept message."""

    id: str
    sender: str
    recipients: list[str]
    subject: str
    date: str


class Mailbox:
    """The folder of kept messages, numbered in arrival order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        taken = [int(p.stem) for p in folder.glob("*.eml") if p.stem.isdigit()]
        self._numbers = itertools.count(max(taken, default=0) + 1)

    def keep(self, raw: bytes) -> str:
        """Write one message; returns its id."""
        message_id = f"{next(self._numbers):06d}"
        staging = self.folder / f"{message_id}.eml.partial"
        staging.write_bytes(raw)
        staging.rename(self.folder / f"{message_id}.eml")
        return message_id

    def read(self, message_id: str) -> EmailMessage | None:
        if not message_id.isdigit():
            return None
        path = self.folder / f"{message_id}.eml"
        if not path.exists():
            return None
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        return message

    def summaries(self) -> list[Summary]:
        """Newest first."""
        found = []
        for path in sorted(self.folder.glob("*.eml"), reverse=True):
            message = self.read(path.stem)
            if message is None:
                continue
            found.append(
                Summary(
                    id=path.stem,
                    sender=str(message.get("From", "")),
                    recipients=[a.strip() for a in str(message.get("To", "")).split(",") if a],
                    subject=str(message.get("Subject", "")),
                    date=str(message.get("Date", "")),
                )
            )
        return found


class KeepHandler:
    """aiosmtpd handler: accept every message and keep it."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or b""
        message_id = self.mailbox.keep(content)
        print(
            f"kept {message_id}: {envelope.mail_from} → {', '.join(envelope.rcpt_tos)}", flush=True
        )
        return "250 Message accepted for delivery"


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return None if part is None else str(part.get_content())


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}td,th{{padding:4px 10px;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}pre{{white-space:pre-wrap;background:#f8f8f8;padding:1em}}
iframe{{width:100%;height:60vh;border:1px solid #ccc}}</style></head><body>{body}</body></html>"""


def build_app(mailbox: Mailbox) -> Starlette:
    """The read-only web view of the mailbox."""

    async def index(request: Request) -> Response:
        rows = "".join(
            f"<tr><td><a href='/messages/{s.id}'>{html.escape(s.subject or '(no subject)')}</a>"
            f"</td><td>{html.escape(', '.join(s.recipients))}</td>"
            f"<td>{html.escape(s.sender)}</td><td>{html.escape(s.date)}</td></tr>"
            for s in mailbox.summaries()
        )
        body = (
            f"<h1>Shoptrail dev mail</h1><p>{len(mailbox.summaries())} messages kept in "
            f"<code>{html.escape(str(mailbox.folder))}</code>. Nothing is relayed.</p>"
            "<table><tr><th>subject</th><th>to</th><th>from</th><th>date</th></tr>"
            f"{rows}</table>"
        )
        return HTMLResponse(PAGE.format(title="Shoptrail dev mail", body=body))

    async def show(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        message = mailbox.read(message_id)
        if message is None:
            return PlainTextResponse("no such message", 404)
        headers = "".join(
            f"<tr><th>{name}</th><td>{html.escape(str(message.get(name, '')))}</td></tr>"
            for name in ("Subject", "From", "To", "Date", "Message-ID")
        )
        text = _part(message, "plain")
        rich = _part(message, "html")
        body = (
            f"<p><a href='/'>← all messages</a> · <a href='/messages/{message_id}/raw'>raw</a></p>"
            f"<table>{headers}</table>"
            + (f"<h2>Text</h2><pre>{html.escape(text)}</pre>" if text else "")
            + (
                f"<h2>HTML</h2><iframe sandbox srcdoc='{html.escape(rich)}'></iframe>"
                if rich
                else ""
            )
        )
        return HTMLResponse(PAGE.format(title=html.escape(str(message["Subject"])), body=body))

    async def raw(request: Request) -> Response:
        message = mailbox.read(request.path_params["message_id"])
        if message is None:
            return PlainTextResponse("no such message", 404)
        return PlainTextResponse(message.as_string())

    async def listing(request: Request) -> Response:
        return JSONResponse([asdict(s) for s in mailbox.summaries()])

    async def message_json(request: Request) -> Response:
        message = mailbox.read(request.path_params["message_id"])
        if message is None:
            return JSONResponse({"detail": "no such message"}, 404)
        content: dict[str, Any] = {name.lower(): str(value) for name, value in message.items()}
        content["text"] = _part(message, "plain")
        content["html"] = _part(message, "html")
        return JSONResponse(content)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "mail"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", health),
            Route("/messages/{message_id}", show),
            Route("/messages/{message_id}/raw", raw),
            Route("/api/messages", listing),
            Route("/api/messages/{message_id}", message_json),
        ]
    )


async def serve(folder: Path, host: str, smtp_port: int, http_port: int) -> None:
    """Run the SMTP listener and the web view until SIGINT/SIGTERM."""
    mailbox = Mailbox(folder)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(KeepHandler(mailbox), hostname="shoptrail-mailsink"), host, smtp_port
    )
    web = uvicorn.Server(uvicorn_config(build_app(mailbox), host=host, port=http_port))
    print(
        json.dumps({"smtp": f"{host}:{smtp_port}", "web": f"http://{host}:{http_port}/"}),
        flush=True,
    )
    try:
        await web.serve()  # until SIGINT/SIGTERM (uvicorn handles both)
    finally:
        smtp.close()
        await smtp.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mailsink", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    parser.add_argument("--smtp-port", type=int, default=1025, help="SMTP port (default: 1025)")
    parser.add_argument(
        "--http-port", type=int, default=8025, help="port of the web view (default: 8025)"
    )
    parser.add_argument("--dir", type=Path, default=Path(".local/mail"), help="where to keep mail")
    args = parser.parse_args(argv)
    configure_logging("WARNING", service="mail")
    asyncio.run(serve(args.dir, args.host, args.smtp_port, args.http_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
