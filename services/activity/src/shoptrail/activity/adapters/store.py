"""Writing batches into the log: set-based, idempotent by event id, one transaction per chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shoptrail.activity.adapters.groups import record_occurrences
from shoptrail.activity.domain.entries import LogEntry
from shoptrail.activity.domain.groups import fingerprint
from shoptrail.activity.domain.orders import is_snapshot, merge_changes, order_change
from shoptrail.activity.domain.rules import RULES, Supersedes, resolution_note
from shoptrail.activity.service_layer.ports import LogStore, WriteResult


@dataclass(frozen=True)
class LogTables:
    """Which tables to write: the live ones, or a replay's rebuild tables."""

    log: str = "activity_log"
    orders: str = "orders"
    live: bool = True
    """Live tables announce their changes to connected browsers; rebuild tables do not."""

    @property
    def event_ids(self) -> str:
        """The log's side table holding one row per event id (migration 0012)."""
        return f"{self.log}_event_ids"


LOG_COLUMNS = (
    "event_id", "event_type", "source", "category", "level", "order_id", "message",
    "payload", "correlation_id", "occurred_at", "trace_id", "fingerprint",
    "kafka_topic", "kafka_partition", "kafka_offset",
)  # fmt: skip

INSERT_ENTRIES = """
INSERT INTO {log} (event_id, event_type, source, category, level, order_id, message,
                   payload, correlation_id, occurred_at, trace_id, fingerprint,
                   kafka_topic, kafka_partition, kafka_offset)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::jsonb[], $9::text[], $10::timestamptz[], $11::text[],
                     $12::text[], $13::text[], $14::integer[], $15::bigint[])
ON CONFLICT (event_id) DO NOTHING
RETURNING id, event_id
"""
"""The idempotent path on a one-table log (before migration 0012's swap): fifteen bound
arrays unnested into rows, duplicates skipped."""

CLAIM_EVENT_IDS = """
INSERT INTO {log}_event_ids (event_id, log_id)
SELECT * FROM unnest($1::uuid[], $2::bigint[])
ON CONFLICT (event_id) DO NOTHING
RETURNING log_id
"""
"""The idempotent path on the partitioned log: its side table says which events are new
(the first of repeats within the chunk wins); only those rows are then written."""

ALLOCATE_IDS = """
WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('{log}', 'id')::regclass AS seq)
SELECT array_agg(nextval(s.seq)) FROM s, generate_series(1, $1)
"""
"""$1 ids from the table's own sequence (whatever its name after a replay's swap).

The sequence is looked up once per call: MATERIALIZED keeps the planner from
inlining the lookup into every row, which made each id cost 10x (3.7 vs 0.4 µs).
"""


def batch_columns(entries: Sequence[LogEntry]) -> list[list[Any]]:
    """The batch as the fifteen arrays `INSERT_ENTRIES` unnests."""
    return _columns([entry_row(e) for e in entries])


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def entry_row(e: LogEntry) -> tuple[Any, ...]:
    """One entry's values, in `LOG_COLUMNS` order."""
    return (
        e.event_id, e.event_type, e.source, e.category, e.level, e.order_id, e.message,
        e.payload, e.correlation_id, e.occurred_at, e.trace_id,
        fingerprint(e.event_type, e.level, e.message),
        e.kafka_topic, e.kafka_partition, e.kafka_offset,
    )  # fmt: skip


async def insert_entries(raw: Any, entries: Sequence[LogEntry], log: str) -> list[int | None]:
    """Insert a chunk of entries; returns, for each entry, its new row id or None.

    None marks an event that was already logged (a redelivery, a replay over
    existing rows) or that appeared earlier in the same chunk.

    Fast path: ids drawn from the table's sequence, rows sent with one binary
    COPY inside a savepoint. The unique event id still guards every row (the side
    table `<log>_event_ids` of migration 0012, claimed by a trigger): a chunk
    holding an event already logged fails the COPY as a whole, the savepoint is
    rolled back, and the chunk claims its ids `ON CONFLICT DO NOTHING` first,
    then writes exactly the rows it claimed. bench/bench_activity.py measures both paths
    against a raw COPY.
    """
    rows = [entry_row(e) for e in entries]
    ids: list[int] = await raw.fetchval(ALLOCATE_IDS.format(log=log), len(rows))
    try:
        async with raw.transaction():  # a savepoint within the caller's transaction
            await _copy(raw, log, ids, rows)
    except asyncpg.UniqueViolationError:
        if not await raw.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{log}_event_ids"):
            inserted = await raw.fetch(INSERT_ENTRIES.format(log=log), *_columns(rows))
            new = {row["event_id"]: row["id"] for row in inserted}
            return [new.pop(e.event_id, None) for e in entries]  # pop: a repeat gets None
        claimed = {
            row["log_id"]
            for row in await raw.fetch(
                CLAIM_EVENT_IDS.format(log=log), [e.event_id for e in entries], ids
            )
        }
        fresh = [(i, row) for i, row in zip(ids, rows, strict=True) if i in claimed]
        if fresh:
            await _copy(raw, log, [i for i, _ in fresh], [row for _, row in fresh])
        return [i if i in claimed else None for i in ids]
    return list(ids)


async def _copy(raw: Any, log: str, ids: Sequence[int], rows: Sequence[tuple[Any, ...]]) -> None:
    await raw.copy_records_to_table(
        log,
        records=[(i, *row) for i, row in zip(ids, rows, strict=True)],
        columns=("id", *LOG_COLUMNS),
    )


UPSERT_SNAPSHOTS = """
INSERT INTO {orders} AS o (order_id, status, status_at, order_number, customer_email,
    total_amount, currency, line_items, shipping_address, provider, created_at)
SELECT l.order_id, 'paid', l.occurred_at,
       l.payload ->> 'order_number', l.payload ->> 'customer_email',
       (l.payload -> 'total' ->> 'amount')::bigint, l.payload -> 'total' ->> 'currency',
       l.payload -> 'line_items', nullif(l.payload -> 'shipping_address', 'null'),
       l.payload ->> 'fulfilment_provider', l.occurred_at
FROM {log} l
WHERE l.id = ANY($1::bigint[])
ON CONFLICT (order_id) DO UPDATE SET
    -- The order's later events may have come first: their newer status stays.
    status = CASE WHEN EXCLUDED.status_at >= o.status_at THEN EXCLUDED.status ELSE o.status END,
    status_at = greatest(o.status_at, EXCLUDED.status_at),
    order_number = EXCLUDED.order_number,
    customer_email = EXCLUDED.customer_email,
    total_amount = EXCLUDED.total_amount,
    currency = EXCLUDED.currency,
    line_items = EXCLUDED.line_items,
    shipping_address = EXCLUDED.shipping_address,
    -- The provider a fulfilment event named wins over the one checkout intended.
    provider = coalesce(o.provider, EXCLUDED.provider),
    created_at = EXCLUDED.created_at,
    updated_at = now()
"""
"""What each order is (number, customer, total, items, address), read from its
order.created entries in the log by row id: one bound array, nothing sent twice."""

UPSERT_CHANGES = """
INSERT INTO {orders} AS o (order_id, status, status_at, provider, provider_order_id,
    carrier, tracking_number, tracking_url, refunded_amount)
SELECT u.order_id, coalesce(u.status, 'pending'),
       CASE WHEN u.status IS NULL THEN '-infinity' ELSE u.at END,
       u.provider, u.provider_order_id, u.carrier, u.tracking_number, u.tracking_url, u.refunded
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
            $6::text[], $7::text[], $8::text[], $9::bigint[])
     AS u(order_id, status, at, provider, provider_order_id, carrier,
          tracking_number, tracking_url, refunded)
ON CONFLICT (order_id) DO UPDATE SET
    -- A status without a time of its own ('-infinity') never wins; late events lose.
    status = CASE WHEN EXCLUDED.status_at >= o.status_at THEN EXCLUDED.status ELSE o.status END,
    status_at = greatest(o.status_at, EXCLUDED.status_at),
    provider = coalesce(EXCLUDED.provider, o.provider),
    provider_order_id = coalesce(EXCLUDED.provider_order_id, o.provider_order_id),
    carrier = coalesce(EXCLUDED.carrier, o.carrier),
    tracking_number = coalesce(EXCLUDED.tracking_number, o.tracking_number),
    tracking_url = coalesce(EXCLUDED.tracking_url, o.tracking_url),
    refunded_amount = o.refunded_amount + EXCLUDED.refunded_amount,
    updated_at = now()
"""
"""What an order's later events change (status, provider, tracking, refunds), one
row per order, folded in Python (`merge_changes`)."""


def _key_sql(rule: Supersedes, alias: str) -> tuple[str, str]:
    """SQL for a rule's key, and a predicate that lets the planner use an index."""
    if rule.key == "order_id":
        return f"{alias}.order_id", ""
    return f"{alias}.payload->>'{rule.key}'", f"AND {alias}.category = '{rule.category}'"


def auto_resolve_sql(rule: Supersedes, log: str) -> str:
    """Resolve open errors superseded by a success with the same key that happened later."""
    s_key, s_narrow = _key_sql(rule, "s")
    f_key, f_narrow = _key_sql(rule, "f")
    return f"""
WITH success AS (
    SELECT {s_key} AS k, max(s.occurred_at) AS at,
           (array_agg(s.message ORDER BY s.occurred_at DESC))[1] AS message
    FROM {log} s
    WHERE s.event_type = $1 AND {s_key} = ANY($2::text[]) {s_narrow}
    GROUP BY 1
)
UPDATE {log} f
SET resolved_at = now(), resolution = 'auto', resolution_note = $4 || success.message
FROM success
WHERE f.event_type = ANY($3::text[]) AND f.resolved_at IS NULL {f_narrow}
  AND {f_key} = success.k AND f.occurred_at <= success.at
RETURNING f.id
"""


async def write_entries(
    conn: AsyncConnection, entries: Sequence[LogEntry], tables: LogTables
) -> WriteResult:
    """Insert a batch (duplicates skipped), project orders, auto-resolve; caller commits."""
    if not entries:
        return WriteResult()
    raw: Any = (await conn.get_raw_connection()).driver_connection
    ids = await insert_entries(raw, entries, tables.log)
    # The same event twice in one batch is inserted once: count it as a duplicate too.
    inserted = [(e, i) for e, i in zip(entries, ids, strict=True) if i is not None]
    new = [e for e, _ in inserted]

    # An order's row: first what it is, from its snapshot, then what changed since.
    # Both statements decide by event time, so their order does not change the result.
    snapshots = {e.order_id: i for e, i in inserted if is_snapshot(e)}
    if snapshots:
        await raw.execute(
            UPSERT_SNAPSHOTS.format(orders=tables.orders, log=tables.log),
            list(snapshots.values()),
        )
    changes = merge_changes([c for c in (order_change(e) for e in new) if c is not None])
    if changes:
        await raw.execute(
            UPSERT_CHANGES.format(orders=tables.orders),
            *_columns([_args(change) for change in changes]),
        )

    if tables.live:  # a replay's groups are made from its tables at the swap (rebuild.swap)
        await record_occurrences(raw, new)  # before any resolve: the trigger counts down

    resolved: list[int] = []
    for rule in RULES:
        keys = rule.touched_keys(new)
        if keys:
            rows = await raw.fetch(
                auto_resolve_sql(rule, tables.log),
                rule.success,
                keys,
                list(rule.errors),
                resolution_note(""),
            )
            resolved.extend(row["id"] for row in rows)
    inserted_ids = [i for _, i in inserted]
    if tables.live and (inserted_ids or resolved):
        await record_change(conn, inserted_ids + resolved, inserted=len(inserted_ids))
    return WriteResult(
        inserted_ids=inserted_ids,
        duplicates=len(entries) - len(new),
        resolved_ids=resolved,
    )


async def record_change(
    conn: AsyncConnection, entry_ids: list[int], kind: str = "entries", *, inserted: int = 0
) -> int:
    """Record this transaction's change, un-numbered (call it last); returns its id.

    `entry_ids` lists the entries this transaction inserted first, `inserted`
    of them, then those it updated. No lock and no NOTIFY: the sequencer numbers
    the change after commit (migration 0011); call `after_commit` then to have
    this replica's hub run it at once rather than on its timer.
    """
    raw: Any = (await conn.get_raw_connection()).driver_connection
    change_id: int = await raw.fetchval(
        "SELECT activity_record_change($1, $2::bigint[], $3)", kind, entry_ids, inserted
    )
    return change_id


def nothing() -> None:
    """The default `after_commit`: no hub to wake (tools, tests); its timer or a read numbers."""


def _args(change: Any) -> tuple[Any, ...]:
    d = change.details
    return (
        change.order_id,
        change.status,
        change.at,
        d.get("provider"),
        d.get("provider_order_id"),
        d.get("carrier"),
        d.get("tracking_number"),
        d.get("tracking_url"),
        change.refunded,
    )


@dataclass
class PostgresLogStore(LogStore):
    """The log in PostgreSQL: each batch is one transaction."""

    engine: AsyncEngine
    tables: LogTables = field(default_factory=LogTables)
    lanes: int = 2
    """Concurrent writers: one connection each, so PostgreSQL indexes one chunk
    while the next is being sent (bench/bench_activity.py measures the gain)."""
    after_commit: Callable[[], None] = nothing
    """Called once a batch that recorded a change has committed (the hub's `kick`)."""

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        async with self.engine.connect() as conn:
            async with raw_transaction(conn):
                # One transaction for the chunk: the log rows, the order read model, the
                # resolutions and the change notice commit together or not at all.
                result = await write_entries(conn, entries, self.tables)
            if self.tables.live and (result.inserted_ids or result.resolved_ids):
                self.after_commit()
            return result


@asynccontextmanager
async def raw_transaction(conn: AsyncConnection) -> AsyncIterator[Any]:
    """A transaction on the pooled connection's asyncpg connection, yielded.

    Only an error PostgreSQL raised inside the block leaves the connection clean
    (asyncpg rolled back). Anything else (a cancellation while BEGIN, a
    statement, COMMIT or ROLLBACK was in flight; a lost connection; a failed
    rollback) may leave the server, or asyncpg, inside a transaction: asyncpg
    keeps an interrupted BEGIN as the connection's open transaction, so the next
    borrower's transaction would silently become a savepoint that never commits.
    SQLAlchemy does not see raw transactions, so such a connection is closed
    here, never handed back to the pool.
    """
    raw: Any = (await conn.get_raw_connection()).driver_connection
    clean: BaseException | None = None
    try:
        async with raw.transaction():
            try:
                yield raw
            except asyncpg.PostgresError as exc:
                clean = exc
                raise
    except BaseException as exc:
        if exc is not clean or raw.is_in_transaction():
            await conn.invalidate()
        raise
