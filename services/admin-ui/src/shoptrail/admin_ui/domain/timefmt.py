"""How times read in the admin: "14:23" today, "16 Feb" otherwise, "2 h ago" in the feed.

The feed's relative words are computed again in the browser every 30 s
(static/polish.js, `relativeTime`), so a page left open keeps aging: the two
must stay the same function, down to Python's round-half-to-even.
"""

from __future__ import annotations

from datetime import datetime, tzinfo


def short_time(when: datetime, *, now: datetime, zone: tzinfo) -> str:
    """The timeline's time: "14:23" on the same day, "16 Feb" this year, "16 Feb 2025" before."""
    local, today = when.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


def full_timestamp(when: datetime, *, zone: tzinfo) -> str:
    """The hover text: "Mon 16 Feb 2026, 14:23:05 GMT"."""
    local = when.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M:%S %Z}"


def relative_time(when: datetime, *, now: datetime) -> str:
    """The feed's time: "just now", "5 min ago", "2 h ago", "yesterday", "3 days ago"."""
    seconds = (now - when).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"{hours} h ago"
    days = round(seconds / 86400)
    if days == 1:
        return "yesterday"
    if days < 30:
        return _ago(days, "day")
    months = round(days / 30.44)
    if months < 12:
        return _ago(months, "month")
    return _ago(round(days / 365.25), "year")


def _ago(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'} ago"
