"""Building the MIME message: headers, parts and subject lines (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
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
    message = EmailMessage()
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
