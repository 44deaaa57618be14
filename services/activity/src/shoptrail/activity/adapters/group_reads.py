"""Reading and resolving grouped failures (the groups are kept by adapters/groups.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.queries import OPEN_GROUPS, entry_dict
from shoptrail.activity.adapters.store import nothing, raw_transaction, record_change

LIST = """
SELECT g.*, (g.resolved_at IS NULL) AS open,
       (SELECT count(*) FROM activity_group_orders o WHERE o.fingerprint = g.fingerprint)
           AS orders_affected,
       ARRAY(SELECT o.order_id FROM activity_group_orders o
             WHERE o.fingerprint = g.fingerprint ORDER BY o.order_id LIMIT 20)
           AS order_ids
FROM activity_groups g
WHERE (:state = 'all' OR (g.resolved_at IS NULL) = (:state = 'open'))
ORDER BY (g.resolved_at IS NULL) DESC, g.last_seen DESC, g.fingerprint
LIMIT :limit
"""

GROUP_ORDERS = """
SELECT o.order_id, r.order_number
FROM activity_group_orders o LEFT JOIN orders r USING (order_id)
WHERE o.fingerprint = :fp ORDER BY r.created_at DESC NULLS LAST, o.order_id LIMIT :limit
"""

GROUP_ENTRIES = """
SELECT * FROM activity_log WHERE fingerprint = :fp
ORDER BY occurred_at DESC, id DESC LIMIT :limit
"""

RESOLVE = """
UPDATE activity_log SET resolved_at = now(), resolution = $2, resolution_note = $3
WHERE fingerprint = $1 AND resolved_at IS NULL AND level IN ('warning', 'error')
RETURNING id
"""


def group_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


@dataclass
class GroupReads:
    """Groups for the API: the list, one group with its entries and orders, resolving one."""

    engine: AsyncEngine
    after_commit: Callable[[], None] = nothing
    """Wakes this replica's hub to number the change (see `store.record_change`)."""

    async def open_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(text(OPEN_GROUPS)) or 0)

    async def groups(self, *, state: str = "all", limit: int = 50) -> list[dict[str, Any]]:
        """Open groups first, then by the newest occurrence."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(text(LIST), {"state": state, "limit": limit})
            return [group_dict(r) for r in rows.all()]

    async def group(self, fp: str, *, limit: int = 100) -> dict[str, Any] | None:
        """One group, its newest entries and the orders it touched (with their numbers)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(LIST.replace("WHERE (", "WHERE g.fingerprint = :fp AND (")),
                    {"fp": fp, "state": "all", "limit": 1},
                )
            ).first()
            if row is None:
                return None
            entries = await conn.execute(text(GROUP_ENTRIES), {"fp": fp, "limit": limit})
            orders = await conn.execute(text(GROUP_ORDERS), {"fp": fp, "limit": limit})
            return group_dict(row) | {
                "entries": [entry_dict(e) for e in entries.all()],
                "orders": [dict(o._mapping) for o in orders.all()],
            }

    async def resolve(
        self, fp: str, *, note: str | None, kind: str = "resolved"
    ) -> list[int] | None:
        """Resolve every open entry of a group, and so the group. None if no such group.

        Locks in the order writers take them: the log table, the group's row, then
        its entries. A consumer logging a new occurrence meanwhile waits, and
        reopens the group after this commits.
        """
        async with self.engine.connect() as conn, raw_transaction(conn) as raw:
            # The log first, as every writer takes it (the UPDATE below would anyway):
            # a replay's swap holding the log then waits for nothing this holds.
            await raw.execute("LOCK TABLE activity_log IN ROW EXCLUSIVE MODE")
            found = await raw.fetchval(
                "SELECT fingerprint FROM activity_groups WHERE fingerprint = $1 FOR UPDATE", fp
            )
            if found is None:
                return None
            ids = [r["id"] for r in await raw.fetch(RESOLVE, fp, kind, note)]
            # The trigger resolved the group with its last entry; also when counts drifted.
            await raw.execute(
                "UPDATE activity_groups SET resolved_at = coalesce(resolved_at, now()), "
                "open_count = 0 WHERE fingerprint = $1",
                fp,
            )
            await record_change(conn, ids)  # even none: the badge may have changed
        self.after_commit()
        return ids
