"""Use case: rebuild the log from the topics into fresh tables, then swap them in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shoptrail.activity.adapters import rebuild
from shoptrail.activity.adapters.store import LogTables, PostgresLogStore, write_entries
from shoptrail.activity.adapters.topic_reader import TopicReader
from shoptrail.activity.domain.entries import LogEntry
from shoptrail.activity.service_layer.ports import LogStore, WriteResult
from shoptrail.activity.service_layer.record import BatchOutcome, record_resiliently


@dataclass
class ReplayStats:
    """Counts shown as replay goes; `expected` is how many messages the topics held."""

    expected: int = 0
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    topics: tuple[str, ...] = ()
    swapped: bool = False
    resolutions_kept: int = 0

    def add(self, outcome: BatchOutcome) -> None:
        self.read += outcome.read
        self.inserted += outcome.write.inserted
        self.duplicates += outcome.write.duplicates
        self.dead_lettered += outcome.dead_lettered


class DryRunStore(LogStore):
    """Counts what a replay would write, writing nothing."""

    def __init__(self) -> None:
        self._seen: set[object] = set()

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        new = [e for e in entries if e.event_id not in self._seen]
        self._seen.update(e.event_id for e in entries)
        unique = {e.event_id for e in new}
        return WriteResult(inserted_ids=[0] * len(unique), duplicates=len(entries) - len(unique))


@dataclass
class ConnectionStore(LogStore):
    """Writes on a connection whose transaction the caller holds (the swap's)."""

    conn: AsyncConnection
    tables: LogTables

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        raw: Any = (await self.conn.get_raw_connection()).driver_connection
        async with raw.transaction():  # a savepoint: a failed write leaves the swap's intact
            return await write_entries(self.conn, entries, self.tables)


async def replay(
    *,
    engine: AsyncEngine,
    reader: TopicReader,
    dry_run: bool = False,
    batch_size: int = 2000,
    progress: Callable[[ReplayStats], None] = lambda _: None,
    consumer: str = "shoptrail-activity",
) -> ReplayStats:
    """Read every topic from the beginning into rebuild tables; swap them in when complete.

    Indexes only readers use are built once the topics are read (see `rebuild.prepare`).
    The live tables keep serving throughout. The final catch-up and the swap
    run in one transaction that holds writers back, so nothing consumed live
    in the meantime is lost, and manual resolutions are carried over.
    """
    stats = ReplayStats()

    def written(batch: list[Any], store: LogStore) -> dict[str, Any]:
        # Replay logs what cannot be read or stored, as the live consumer did (same
        # entry ids), but never publishes dead letters again.
        return {"records": batch, "store": store, "dead_letters": None, "consumer": consumer}

    await reader.start()
    try:
        stats.topics = tuple(reader.topics)
        stats.expected = await reader.remaining()
        progress(stats)
        store: LogStore = DryRunStore()
        deferred: list[str] = []
        if not dry_run:
            async with engine.begin() as conn:
                deferred = await rebuild.prepare(conn)
            store = PostgresLogStore(engine, tables=rebuild.REBUILD)
        async for batch in reader.batches(batch_size):
            stats.add(await record_resiliently(**written(batch, store)))
            progress(stats)
        if dry_run:
            return stats
        async with engine.begin() as conn:  # before the lock: the live tables keep serving
            await rebuild.build_indexes(conn, deferred)
        async with engine.begin() as conn:
            await rebuild.lock_live(conn)
            await reader.extend_to_current_end()
            stats.expected = stats.read + await reader.remaining()
            tail = ConnectionStore(conn, rebuild.REBUILD)
            async for batch in reader.batches(batch_size):
                stats.add(await record_resiliently(**written(batch, tail)))
                progress(stats)
            stats.resolutions_kept = await rebuild.carry_over_resolutions(conn)
            await rebuild.swap(conn)
        stats.swapped = True
        progress(stats)
        return stats
    finally:
        await reader.stop()
