"""Alerts to the shop owner: their settings, pacing, quiet hours and what they say.

Pure logic (no I/O), so the rules that keep a storm of errors down to one
digest can be checked without a clock or a database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

MIN_KEY_BYTES = 16
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class AlertSettings:
    """What the owner chose on the admin settings page."""

    enabled: bool = False
    email: str | None = None
    digest_minutes: int = 15
    quiet_start: time | None = None
    quiet_end: time | None = None
    timezone: str = "UTC"
    webhook_url: str | None = None
    webhook_secret: str | None = None

    @property
    def digest_every(self) -> timedelta:
        return timedelta(minutes=max(1, self.digest_minutes))

    @property
    def delivers(self) -> bool:
        """On, and somewhere to send to."""
        return self.enabled and bool(self.email or self.webhook_url)


@dataclass(frozen=True)
class AlertItem:
    """One open entry waiting to be told."""

    entry_id: int
    title: str
    level: str
    order_id: str | None = None
    fingerprint: str | None = None
    """Activity's group key: entries alike (same type and reason) share it."""


@dataclass(frozen=True)
class AlertLine:
    """One line of an alert: one entry, or the entries alike folded into their group."""

    title: str
    level: str
    link: str
    times: int


def lines(items: list[AlertItem], *, admin_url: str) -> list[AlertLine]:
    """One line per problem: a storm of the same failure is one line linking its group."""
    alike: dict[str, list[AlertItem]] = {}
    for item in items:
        alike.setdefault(item.fingerprint or f"entry {item.entry_id}", []).append(item)
    out = []
    for members in alike.values():
        newest = max(members, key=lambda item: item.entry_id)
        link = (
            group_link(admin_url, newest.fingerprint)
            if len(members) > 1 and newest.fingerprint
            else entry_link(admin_url, newest.entry_id)
        )
        out.append(AlertLine(newest.title, newest.level, link, len(members)))
    return out


def quiet_until(settings: AlertSettings, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in, or None when alerts may go now.

    A window may cross midnight (22:00–07:00); start == end means no quiet hours.
    """
    start, end = settings.quiet_start, settings.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(settings.timezone))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def next_send_at(settings: AlertSettings, last_sent_at: datetime | None, now: datetime) -> datetime:
    """The earliest moment the next alert may go: at once for the first, then at most one
    per digest interval, and never in quiet hours."""
    due = now if last_sent_at is None else max(now, last_sent_at + settings.digest_every)
    return quiet_until(settings, due) or due


def entry_link(admin_url: str, entry_id: int) -> str:
    return f"{admin_url.rstrip('/')}/admin/entries/{entry_id}"


def group_link(admin_url: str, fingerprint: str) -> str:
    return f"{admin_url.rstrip('/')}/admin/activity/groups/{quote(fingerprint, safe='')}"


def subject(items: list[AlertItem]) -> str:
    if len(items) == 1:
        return f"Needs attention: {items[0].title[:120]}"
    return f"{len(items)} entries need attention"


def _times(line: AlertLine) -> str:
    return f" ({line.times} times)" if line.times > 1 else ""


def body(items: list[AlertItem], *, admin_url: str) -> str:
    """Plain text: one line per problem (entries alike folded, with a count), each linked."""
    text = [
        f"- [{line.level}] {line.title}{_times(line)}\n  {line.link}"
        for line in lines(items, admin_url=admin_url)
    ]
    head = "This needs your attention:" if len(items) == 1 else "These need your attention:"
    return "\n".join([head, "", *text, ""])


def slack_text(items: list[AlertItem], *, admin_url: str) -> str:
    """Slack's mrkdwn: `<url|label>` links, one problem a line."""
    text = [
        f"• <{line.link}|{_mrkdwn(line.title)}> ({line.level}){_times(line)}"
        for line in lines(items, admin_url=admin_url)
    ]
    return "\n".join([f"*{subject(items)}*", *text])


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "¦")


def sign_webhook(secret: str, msg_id: str, timestamp: int, payload: bytes) -> str:
    """Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def valid_webhook_secret(secret: str) -> bool:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except ValueError:
        return False
    return len(key) >= MIN_KEY_BYTES
