"""What the orders list is asked for, and its opaque keyset cursors.

Orders are listed newest placed first, ties broken by id: the order of the
`orders_newest` index. A cursor names the last (or first) order a page showed,
so the next page starts right after it whatever was placed in between: no
order is skipped or shown twice, unlike an offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shoptrail.activity.domain.feed import pack_cursor, unpack_cursor
from shoptrail.events.hygiene import MAX_ID

ORDERS_PAGE_SIZE = 50
Direction = Literal["older", "newer"]


class InvalidOrderCursorError(ValueError):
    """A cursor this service did not issue."""


@dataclass(frozen=True)
class OrderCursor:
    """A position in the orders list: (placed time, order id) of one order.

    An order whose snapshot has not arrived has no placed time; those sort
    after every placed order (`NULLS LAST`), by id.
    """

    placed_at: datetime | None
    order_id: str

    def encode(self) -> str:
        return pack_cursor(self.placed_at.isoformat() if self.placed_at else "", self.order_id)

    @classmethod
    def decode(cls, token: str) -> OrderCursor:
        try:
            when, order_id = unpack_cursor(token)
            if not order_id or len(order_id) > MAX_ID:
                raise ValueError("no order id")
            placed = datetime.fromisoformat(when) if when else None
            if placed is not None and placed.tzinfo is None:
                raise ValueError("naive time")
            return cls(placed, order_id)
        except ValueError as exc:
            raise InvalidOrderCursorError(f"invalid cursor {token!r}") from exc


@dataclass(frozen=True)
class OrderFilter:
    """Which orders: by status (any of), placed in a date range, number/email prefix."""

    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None


@dataclass(frozen=True)
class OrdersPage:
    """A page of orders, newest placed first, with cursors to its neighbours."""

    orders: list[dict[str, object]]
    older: OrderCursor | None
    newer: OrderCursor | None
    total: int
    """Orders matching the whole filter."""
    counts: dict[str, int]
    """Orders per status matching the filter but its statuses: what each status would show."""
