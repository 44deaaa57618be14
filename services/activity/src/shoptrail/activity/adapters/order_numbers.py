"""Entries in the shop's words: each entry about an order carries the order's number.

The log stores the internal order id (`ord_…`), the key every service shares;
the shop thinks in order numbers (`SS-261201-C600`). The number lives in the
order read model, written from `order.placed`/`order.created`, so it is looked
up at read time, one primary-key probe per distinct order on the page, rather
than copied into each entry: an entry that arrived before its order's snapshot
shows the number as soon as the snapshot is in, with nothing to backfill.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shoptrail.activity.adapters.tables import orders


async def order_numbers(conn: AsyncConnection, order_ids: Iterable[str | None]) -> dict[str, str]:
    """The known number of each of these orders (orders without one are left out)."""
    wanted = sorted({i for i in order_ids if i})
    if not wanted:
        return {}
    stmt = select(orders.c.order_id, orders.c.order_number).where(
        orders.c.order_id.in_(wanted), orders.c.order_number.is_not(None)
    )
    return {r.order_id: r.order_number for r in (await conn.execute(stmt)).all()}


async def name_orders(conn: AsyncConnection, entries: Iterable[MutableMapping[str, Any]]) -> None:
    """Set `order_number` on each entry (None when not about an order, or not yet known)."""
    entries = list(entries)
    numbers = await order_numbers(conn, (e.get("order_id") for e in entries))
    for e in entries:
        e["order_number"] = numbers.get(e.get("order_id") or "")
