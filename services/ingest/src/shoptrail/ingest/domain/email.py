"""Email-provider delivery failures → `email.bounced` facts.

The provider posts Resend-style events (`{type, created_at, data: {to,
bounce, tags}}`) signed with Standard Webhooks. The notifier tags every email
it sends with `email_kind` and `order_id`, which is how a bounce is tied back
to the email and the order it was about.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shoptrail.events.ingest import EmailBounced, EmailKind
from shoptrail.ingest.domain.facts import Fact, Ignored, validate_as

BOUNCE_TYPES = ("email.bounced",)
_KINDS: tuple[str, ...] = get_args(EmailKind)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Bounce(_Loose):
    message: str | None = None
    type: str | None = Field(default=None, description="Permanent / Transient (hard / soft).")


class BounceData(_Loose):
    to: list[str] | str = Field(default_factory=list)
    bounce: Bounce | None = None
    tags: dict[str, str] | list[dict[str, str]] | None = None

    @property
    def recipients(self) -> list[str]:
        return [self.to] if isinstance(self.to, str) else list(self.to)

    @property
    def tag_map(self) -> dict[str, str]:
        """Tags as a mapping (providers send either `{name: value}` or `[{name, value}]`)."""
        if isinstance(self.tags, list):
            return {t["name"]: t["value"] for t in self.tags if "name" in t and "value" in t}
        return dict(self.tags or {})


class EmailEvent(_Loose):
    type: str = Field(min_length=1)
    created_at: AwareDatetime
    data: BounceData = Field(default_factory=BounceData)


def bounce_facts(body: dict[str, Any], *, message_id: str) -> list[Fact] | Ignored:
    """One `email.bounced` fact per recipient; other event types are ignored.

    `message_id` is the provider's delivery id (`webhook-id`), the same on
    every retry, so each bounce keeps one event id.
    """
    event = validate_as(EmailEvent, body, "email-provider event")
    if event.type not in BOUNCE_TYPES:
        return Ignored(event.type, f"email event {event.type!r} is not a bounce")
    tags = event.data.tag_map
    kind = tags.get("email_kind", "other")
    bounce = event.data.bounce or Bounce()
    facts = []
    for recipient in event.data.recipients:
        data = EmailBounced(
            recipient=recipient,
            email_kind=kind if kind in _KINDS else "other",
            order_id=tags.get("order_id") or None,
            reason=bounce.message,
            permanent=(bounce.type or "permanent").lower() not in ("transient", "soft"),
        )
        facts.append(Fact(data, event.created_at, f"email:{message_id}:{recipient.lower()}"))
    if not facts:
        return Ignored(event.type, "the bounce names no recipient")
    return facts
