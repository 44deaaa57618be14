"""Replay's tables: build fresh copies beside the live ones, then swap them in atomically."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shoptrail.activity.adapters.groups import rebuild_groups
from shoptrail.activity.adapters.partitions import (
    ensure_partitions,
    is_partitioned,
    rename_partitions,
)
from shoptrail.activity.adapters.store import LogTables, record_change

LIVE = LogTables()
REBUILD = LogTables(log="activity_log_rebuild", orders="orders_rebuild", live=False)
PREVIOUS = LogTables(log="activity_log_previous", orders="orders_previous", live=False)
PAIRS = (
    (LIVE.log, REBUILD.log, PREVIOUS.log),
    (LIVE.event_ids, REBUILD.event_ids, PREVIOUS.event_ids),
    (LIVE.orders, REBUILD.orders, PREVIOUS.orders),
)
COUNT_TRIGGERS = ("activity_counts_ins", "activity_counts_upd", "activity_counts_del")
GROUP_TRIGGERS = ("activity_groups_upd", "activity_groups_del")
WRITE_PATH_INDEXES = frozenset({"activity_log_timeline", "activity_log_category"})
"""Live indexes that replay's own writes read: auto-resolve finds an order's errors by
order id, a provider's or a problem's by category. With the unique ones (the ids, the
event id every write deduplicates on, the order id) they are kept during the load; the
others (feed, search, attention, …) only serve readers and are built once at the end."""


async def prepare(conn: AsyncConnection) -> list[str]:
    """Empty rebuild tables with the live tables' columns, defaults and the indexes writes
    need; returns the other indexes' definitions, for `build_indexes` after the load.

    Building an index over the loaded rows is several times cheaper than keeping it
    up to date row by row (a trigram index above all); bench/bench_replay.py measures it.
    """
    if not await is_partitioned(conn, LIVE.log):
        raise RuntimeError(
            "activity_log is not partitioned yet: run `shoptrail-activity migrate-log` first"
        )
    deferred = []
    for live, rebuild, _ in PAIRS:
        await conn.execute(text(f"DROP TABLE IF EXISTS {rebuild}"))
        # The log's copy is partitioned like the live log (months made below).
        partitioning = " PARTITION BY RANGE (inserted_at)" if live == LIVE.log else ""
        await conn.execute(
            text(f"CREATE TABLE {rebuild} (LIKE {live} INCLUDING ALL){partitioning}")
        )
        unique = await _unique_indexes(conn, rebuild)
        for live_index, rebuild_index in await matching_indexes(conn, live, rebuild):
            if live_index in WRITE_PATH_INDEXES or rebuild_index in unique:
                continue
            definition = await conn.scalar(
                text("SELECT pg_get_indexdef(to_regclass(:i))"), {"i": rebuild_index}
            )
            await conn.execute(text(f"DROP INDEX {rebuild_index}"))
            # A partitioned index's definition says ON ONLY (the parent alone): built
            # again, it is built on every partition.
            deferred.append(str(definition).replace(" ON ONLY ", " ON ", 1))
    await conn.execute(
        text("SELECT activity_event_ids_attach(CAST(:log AS regclass), CAST(:ids AS regclass))"),
        {"log": REBUILD.log, "ids": REBUILD.event_ids},
    )
    await ensure_partitions(conn, REBUILD.log, since=datetime.now(UTC))
    return deferred


async def build_indexes(conn: AsyncConnection, definitions: list[str]) -> None:
    """Build the indexes `prepare` left out, over the loaded rows (before the swap)."""
    for definition in definitions:
        await conn.execute(text(definition))


async def lock_live(conn: AsyncConnection) -> None:
    """Hold writers (consumer, resolves) until the swap commits; readers carry on."""
    await conn.execute(text(f"LOCK TABLE {LIVE.log}, {LIVE.orders} IN EXCLUSIVE MODE"))


async def carry_over_resolutions(conn: AsyncConnection) -> int:
    """Keep what people decided: manual resolutions are not in the topics, only in the log."""
    result = await conn.execute(
        text(
            f"""
            UPDATE {REBUILD.log} r
            SET resolved_at = o.resolved_at, resolution = o.resolution,
                resolution_note = o.resolution_note
            FROM {LIVE.log} o
            WHERE o.event_id = r.event_id AND o.resolution IN ('resolved', 'dismissed')
              AND r.resolved_at IS NULL
            """
        )
    )
    return result.rowcount


async def swap(conn: AsyncConnection) -> None:
    """Rebuild tables become live (indexes renamed to the migration's names); live → previous."""
    await conn.execute(
        text(f"DROP TABLE IF EXISTS {PREVIOUS.log}, {PREVIOUS.event_ids}, {PREVIOUS.orders}")
    )
    for trigger in (*COUNT_TRIGGERS, *GROUP_TRIGGERS):
        await conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger} ON {LIVE.log}"))
    for live, rebuild, previous in PAIRS:
        names = await matching_indexes(conn, live, rebuild)
        for live_index, _ in names:
            await conn.execute(
                text(f"ALTER INDEX {live_index} RENAME TO {_previous_name(live_index)}")
            )
        await conn.execute(text(f"ALTER TABLE {live} RENAME TO {previous}"))
        await conn.execute(text(f"ALTER TABLE {rebuild} RENAME TO {live}"))
        for live_index, rebuild_index in names:
            await conn.execute(text(f"ALTER INDEX {rebuild_index} RENAME TO {live_index}"))
    # The months keep their names with their tables: activity_log_p202601 is live's.
    await rename_partitions(conn, PREVIOUS.log, LIVE.log, PREVIOUS.log)
    await rename_partitions(conn, LIVE.log, REBUILD.log, LIVE.log)
    # Counted again from the new log: totals and deltas (migration 0011) both replaced.
    await conn.execute(text(f"SELECT activity_counts_reset('{LIVE.log}')"))
    await conn.execute(text(f"SELECT activity_counts_attach('{LIVE.log}')"))
    # The groups, made again from the new log (replay's writes left them alone).
    raw: Any = (await conn.get_raw_connection()).driver_connection
    await rebuild_groups(raw, LIVE.log)
    await conn.execute(text(f"SELECT activity_groups_attach('{LIVE.log}')"))
    # Entry ids changed: every connected browser must reload, not patch rows.
    await record_change(conn, [], kind="reload")


def _previous_name(name: str) -> str:
    return (name[:50] + "_previous")[:63]


async def _unique_indexes(conn: AsyncConnection, table: str) -> set[str]:
    rows = await conn.execute(
        text(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = to_regclass(:t) AND indisunique"
        ),
        {"t": table},
    )
    return set(rows.scalars())


async def matching_indexes(conn: AsyncConnection, live: str, rebuild: str) -> list[tuple[str, str]]:
    """Pair each live index with the rebuild table's index of the same definition."""

    async def definitions(table: str) -> dict[str, str]:
        rows = await conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}
        )
        out = {}
        for name, definition in rows.all():
            body = definition.split(" ON ", 1)[1]
            out[re.sub(rf"\b{re.escape(table)}\b", "T", body)] = name
        return out

    live_defs, rebuild_defs = await definitions(live), await definitions(rebuild)
    return [(name, rebuild_defs[body]) for body, name in live_defs.items() if body in rebuild_defs]
