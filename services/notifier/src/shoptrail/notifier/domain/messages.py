"""Building the MIME message: headers, parts and subject lines (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime
from typing import Any
from uuid import UUID

from shoptrail.notifier.domain.model import EmailKind, Sender


def subject_for(kind: EmailKind, context: Mapping[str, Any]) -> str:
    """The subject line of each kind of email."""
    if kind is EmailKind.ORDER_CONFIRMATION:
        return f"Thank you for your order {context['order_number']}"
    if kind is EmailKind.SHIPPING_NOTIFICATION:
        return f"Your order {context['order_number']} is on its way"
    return "You left something in your basket"


def message_id_for(email_id: UUID, sender: Sender) -> str:
    """A stable Message-ID: a resend of the same email is recognisably the same message."""
    domain = sender.address.rpartition("@")[2] or "localhost"
    return f"<{email_id}@{domain}>"


MAX_HEADER_LINE = 998
"""RFC 5322's hard limit for a line, CRLF excluded."""


class VerbatimAsciiHeader(UnstructuredHeader, BaseHeader):
    """A header written exactly as given when it is ASCII and fits one line.

    The stdlib folds any header past 78 characters, and a URL has no spaces to
    fold at, so it turns `<https://…>` into an RFC 2047 encoded-word. Mail
    clients look for the literal `<https://…>` (RFC 2369) to offer RFC 8058
    one-click unsubscribe, so these headers must never be encoded.
    """

    def fold(self, *, policy: Policy) -> str:
        line = f"{self.name}: {self}"
        if line.isascii() and len(line) <= MAX_HEADER_LINE:
            return line + policy.linesep
        return str(super().fold(policy=policy))  # not a plain URL: let the stdlib encode it


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
        registry.map_to_type(name, VerbatimAsciiHeader)
    return registry


MESSAGE_POLICY = policy.default.clone(header_factory=_registry())
"""The default policy, except that the list headers are never folded into encoded-words."""


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 `List-Unsubscribe` plus RFC 8058 one-click."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def build_message(
    *,
    sender: Sender,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    date: datetime,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A plain-text message, with an HTML alternative when `html` is given."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    username, _, domain = sender.address.rpartition("@")
    message["From"] = Address(display_name=sender.name, username=username, domain=domain)
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
