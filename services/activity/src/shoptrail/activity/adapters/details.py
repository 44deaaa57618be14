"""Reading one entry whole: its row (with where it was read from) and its order's outside ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.queries import entry_dict
from shoptrail.activity.adapters.tables import activity_log, orders

REFERENCE_KEYS = ("checkout_session_id", "payment_intent_id", "provider", "provider_order_id")
"""Payload fields that name the order somewhere else (Stripe, the print provider)."""


@dataclass
class EntryDetails:
    """One entry for the details page; two index lookups (the id, then the order's timeline)."""

    engine: AsyncEngine

    async def entry(self, entry_id: int) -> dict[str, Any] | None:
        """The entry, plus `references`: the outside ids its order is known by."""
        t = activity_log
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id == entry_id))).first()
            if row is None:
                return None
            entry = entry_dict(row)
            references = _from_payload(entry["payload"])
            order_id = entry["order_id"]
            if order_id:
                order = (
                    await conn.execute(
                        select(
                            orders.c.order_number, orders.c.provider, orders.c.provider_order_id
                        ).where(orders.c.order_id == order_id)
                    )
                ).first()
                created = await conn.scalar(
                    select(t.c.payload)
                    .where(t.c.order_id == order_id, t.c.event_type == "order.created")
                    .order_by(t.c.occurred_at, t.c.id)
                    .limit(1)
                )
                # What this entry says first; what the order is known by fills the gaps.
                known = _from_payload(created) | {
                    k: v for k, v in (order._mapping.items() if order else ()) if v
                }
                references = known | references
        entry["references"] = references
        return entry


def _from_payload(payload: Any) -> dict[str, str]:
    if not isinstance(payload, dict):
        return {}
    found = {k: payload.get(k) for k in (*REFERENCE_KEYS, "order_number")}
    if not found["provider"] and payload.get("fulfilment_provider"):
        found["provider"] = payload["fulfilment_provider"]
    return {k: str(v) for k, v in found.items() if isinstance(v, str | int) and v != ""}
