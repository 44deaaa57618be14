"""Numbering changes (the sequencer, migration 0011), reading them and the entries they touched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.order_numbers import name_orders
from shoptrail.activity.adapters.queries import (
    FOLD_COUNTS,
    NUMBER_CHANGES,
    LogQueries,
    entry_dict,
)


@dataclass(frozen=True)
class Change:
    seq: int
    kind: str
    entry_ids: list[int]


@dataclass
class ChangeLog:
    engine: AsyncEngine

    async def latest(self) -> int:
        """The newest change number, after numbering every change committed so far."""
        return await self.number()

    async def number(self) -> int:
        """Run the sequencer: number committed changes, announce them; returns the high mark."""
        async with self.engine.begin() as conn:
            return int(await conn.scalar(text(NUMBER_CHANGES)) or 0)

    async def fold_counts(self) -> int:
        """Fold count deltas into the totals, unless another replica is; returns rows folded."""
        async with self.engine.begin() as conn:
            return int(await conn.scalar(text(FOLD_COUNTS)) or 0)

    async def oldest(self) -> int | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(text("SELECT min(seq) FROM activity_changes"))
        return int(value) if value is not None else None

    async def since(self, seq: int, *, limit: int = 1000) -> list[Change]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT seq, kind, entry_ids FROM activity_changes "
                    "WHERE seq > :seq ORDER BY seq LIMIT :limit"
                ),
                {"seq": seq, "limit": limit},
            )
            return [Change(r.seq, r.kind, list(r.entry_ids)) for r in rows.all()]

    async def entries(self, ids: list[int]) -> list[dict[str, Any]]:
        """Current state of these entries (a resolve changed some since they were logged)."""
        if not ids:
            return []
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM activity_log WHERE id = ANY(:ids) ORDER BY occurred_at, id"),
                {"ids": ids},
            )
            entries = [entry_dict(r) for r in rows.all()]
            await name_orders(conn, entries)
        return entries

    async def attention_count(self) -> int:
        return await LogQueries(self.engine).attention_count()
