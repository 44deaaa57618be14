"""Templates on disk (Jinja2, HTML autoescaped) and the composer that renders emails."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shoptrail.notifier.domain.messages import (
    build_message,
    message_id_for,
    subject_for,
    unsubscribe_headers,
)
from shoptrail.notifier.domain.model import EmailKind, OutgoingEmail, Sender
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer.ports import Composer

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def template_environment(folder: Path = TEMPLATES) -> Environment:
    """HTML templates are autoescaped; plain-text ones are not (nothing to escape into)."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


class TemplateComposer(Composer):
    """Renders `email/<kind>.txt` (and `.html` for order emails) into a MIME message."""

    def __init__(
        self, env: Environment, *, tokens: UnsubscribeTokens, public_base_url: str
    ) -> None:
        self._env = env
        self._tokens = tokens
        self._base_url = public_base_url.rstrip("/")

    def unsubscribe_url(self, email: str) -> str:
        """The one-click unsubscribe link for `email`."""
        return f"{self._base_url}/unsubscribe/{self._tokens.issue(email)}"

    def _render(self, name: str, context: dict[str, Any]) -> str:
        return self._env.get_template(name).render(context)

    def compose(
        self, email: OutgoingEmail, *, sender: Sender, recipient: str, now: datetime
    ) -> EmailMessage:
        context: dict[str, Any] = {**email.context, "sender_name": sender.name}
        headers: dict[str, str] = {}
        html: str | None = None
        if email.kind is EmailKind.CART_RECOVERY:
            url = self.unsubscribe_url(recipient)
            context["unsubscribe_url"] = url
            headers = unsubscribe_headers(url)
        else:
            html = self._render(f"email/{email.kind.value}.html", context)
        return build_message(
            sender=sender,
            recipient=recipient,
            subject=subject_for(email.kind, context),
            text=self._render(f"email/{email.kind.value}.txt", context),
            html=html,
            message_id=message_id_for(email.id, sender),
            date=now,
            headers=headers,
        )
