"""The log's monthly partitions: which exist, and making the coming ones (migration 0012)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

MONTHS_AHEAD = 2
"""Partitions are made for this month and the next two (at migration and every prune)."""
DEFAULT_SUFFIX = "_default"
"""`<log>_default`: rows no month takes (odd timestamps), and the problems a retired
month left behind (adapters/pruning.py)."""

CHILDREN = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass(:log)
"""
TABLES_LIKE = "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE :pattern"


def month_start(month: datetime, add: int = 0) -> datetime:
    """The first instant (UTC) of `month`'s month, `add` months later."""
    index = month.year * 12 + month.month - 1 + add
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def is_partitioned(conn: AsyncConnection, log: str) -> bool:
    """True once migration 0012's swap has made `log` a partitioned table."""
    partitioned = await conn.scalar(
        text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(:t)"), {"t": log}
    )
    return bool(partitioned)


async def ensure_partitions(
    conn: AsyncConnection, log: str, *, since: datetime, months_ahead: int = MONTHS_AHEAD
) -> int:
    """Make the months from `since` to `months_ahead` after now, and DEFAULT; returns how many."""
    made = await conn.scalar(
        text("SELECT activity_log_ensure_partitions(CAST(:log AS regclass), :since, :ahead)"),
        {"log": log, "since": since, "ahead": months_ahead},
    )
    return int(made or 0)


async def add_month(conn: AsyncConnection, log: str, month: datetime) -> str | None:
    """Make `log`'s partition for `month`'s month (moving its rows out of DEFAULT)."""
    made = await conn.scalar(
        text("SELECT activity_log_add_month(CAST(:log AS regclass), :month)"),
        {"log": log, "month": month},
    )
    return None if made is None else str(made)


async def month_partitions(
    conn: AsyncConnection, log: str, *, attached: bool = True
) -> list[tuple[str, datetime]]:
    """`log`'s month partitions (or its detached ones, left by a stopped prune), oldest first."""
    if attached:
        names = (await conn.scalars(text(CHILDREN), {"log": log})).all()
    else:
        children = set((await conn.scalars(text(CHILDREN), {"log": log})).all())
        candidates = (await conn.scalars(text(TABLES_LIKE), {"pattern": f"{log}_p%"})).all()
        names = [n for n in candidates if n not in children]
    months = []
    for name in names:
        found = re.fullmatch(rf"{re.escape(log)}_p(\d{{4}})(\d{{2}})", name)
        if found:
            months.append((name, datetime(int(found[1]), int(found[2]), 1, tzinfo=UTC)))
    return sorted(months, key=lambda m: m[1])


async def rename_partitions(conn: AsyncConnection, parent: str, old: str, new: str) -> None:
    """Partitions of `parent` named `<old>_…` renamed `<new>_…` (a swap renames their parent)."""
    for name in (await conn.scalars(text(CHILDREN), {"log": parent})).all():
        if name.startswith(f"{old}_"):
            renamed = new + name[len(old) :]
            await conn.execute(text(f"ALTER TABLE {name} RENAME TO {renamed}"))
