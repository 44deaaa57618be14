"""What the feed is asked for, and its opaque keyset cursors."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from shoptrail.kit.inputs import BIGINT_MAX


class Tab(StrEnum):
    ALL = "all"
    ATTENTION = "attention"


ATTENTION_LEVELS = ("warning", "error")
PAGE_SIZE = 50
SEARCH_COUNT_CAP = 1_000
"""Searches count their matches up to this many; beyond it the total reads "1,000+"."""


class InvalidCursorError(ValueError):
    """A cursor that this service did not issue."""


def pack_cursor(first: str, second: str) -> str:
    """A keyset position as an opaque URL-safe token (the feed's and the orders list's)."""
    return base64.urlsafe_b64encode(f"{first}|{second}".encode()).decode().rstrip("=")


def unpack_cursor(token: str) -> tuple[str, str]:
    """The two parts `pack_cursor` joined; ValueError for anything it could not have made."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    first, sep, second = raw.partition("|")
    if not sep:
        raise ValueError("not a cursor")
    return first, second


@dataclass(frozen=True)
class Cursor:
    """A position in the feed: (occurred_at, id) of an entry. Stable while entries arrive."""

    occurred_at: datetime
    id: int

    def encode(self) -> str:
        return pack_cursor(self.occurred_at.isoformat(), str(self.id))

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            when, ident = unpack_cursor(token)
            occurred = datetime.fromisoformat(when)
            if occurred.tzinfo is None:
                raise ValueError("naive time")
            entry_id = int(ident)
            if not 0 <= entry_id <= BIGINT_MAX:  # ids are bigints: a larger one is not ours
                raise ValueError("id out of range")
            return cls(occurred, entry_id)
        except ValueError as exc:
            raise InvalidCursorError(f"invalid cursor {token!r}") from exc


@dataclass(frozen=True)
class FeedFilter:
    """Which entries: the tab, category and level filters, search, dates, debug visibility."""

    tab: Tab = Tab.ALL
    categories: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    search: str | None = None
    include_debug: bool = False
    order_id: str | None = None
    since: datetime | None = None
    """Entries that happened at or after this time (with `until`: a date range)."""
    until: datetime | None = None
    """Entries that happened before this time."""

    @property
    def dated(self) -> bool:
        """A date range: the per-category counts cannot answer its total."""
        return self.since is not None or self.until is not None

    @property
    def hides_debug(self) -> bool:
        return not self.include_debug and "debug" not in self.levels


@dataclass(frozen=True)
class FeedPage:
    """One page, newest first, with cursors to the older and newer neighbours."""

    entries: list[dict[str, object]]
    older: Cursor | None
    newer: Cursor | None
    total: int
    total_capped: bool = False
    filters: FeedFilter = field(default_factory=FeedFilter)
    seq: int = 0  # the change number the page is current to (live updates follow from it)


CHANGES_LIMIT = 200


@dataclass(frozen=True)
class FeedChanges:
    """What changed in the log after change `since`, up to change `seq`, for one reader.

    `entries` holds the current state of every entry those changes touched,
    each marked with whether the changes inserted it (else they updated it)
    and whether the reader's filters match it now. `complete` is
    false when more changes follow `seq` (ask again from it); `reload` is true
    when they cannot be given as increments (the changes were pruned, the log
    was rebuilt, or one change touched more entries than a reader can take):
    the reader starts again from a fresh first page.
    """

    since: int
    seq: int
    entries: list[dict[str, object]]
    complete: bool = True
    reload: bool = False


Direction = Literal["older", "newer"]


def looks_like_identifier(term: str) -> bool:
    """An email, order number, tracking number or provider id: one word with a digit or @."""
    return (
        len(term) >= 4
        and not any(c.isspace() for c in term)
        and any(c.isdigit() or c == "@" for c in term)
    )


def index_fragments(term: str) -> list[str]:
    """Parts of a search the trigram index could be asked for; the whole term is checked after.

    The index's cost grows with how common each of the asked trigrams is, not
    with how many entries match: the template words around a name or an email
    ("confirmation sent to", "@gmail.com") are in millions of entries. Each
    word of three or more letters (of an email, its part before the domain) is
    a candidate, and the whole term last; the search asks for the one rarest
    among recent entries. All are substrings of `term`, so nothing is missed.
    """
    parts: list[str] = []
    for word in term.split():
        local, at, _ = word.partition("@")
        part = local + at if at and len(local) >= 3 else word
        if len(part) >= 3 and part not in parts and part != term:
            parts.append(part)
    return [*parts, term]
