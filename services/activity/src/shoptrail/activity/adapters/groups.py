"""Grouped failures in PostgreSQL: occurrences folded into `activity_groups` as entries land.

Kept in the transaction that inserts the entries (see `store.write_entries`), from
the entries that insert actually made: a redelivered or replayed event is skipped
by the log's unique event id before it gets here, so it never counts twice.

Concurrency: every statement touches group rows in fingerprint order and upserts
with ON CONFLICT, so two consumers logging the same failure at once queue on the
group's row (one waits for the other's commit) instead of deadlocking or losing
a count. Open/resolved state follows the entries: a trigger (migration 0008)
adjusts `open_count` whenever entries are resolved, dismissed or pruned, and a
group with no open entry left is resolved. A new occurrence of a resolved group
reopens it (Sentry's regression rule) and counts a regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shoptrail.activity.domain.entries import LogEntry
from shoptrail.activity.domain.groups import fingerprint, normalise

RECORD_OCCURRENCES = """
WITH u AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::timestamptz[])
        AS u(fingerprint, event_type, category, level, title, message, at)
)
INSERT INTO activity_groups AS g (fingerprint, event_type, category, level, title, sample,
                                  first_seen, last_seen, count, open_count)
SELECT fingerprint, min(event_type), min(category), min(level), min(title),
       (array_agg(message ORDER BY at DESC))[1], min(at), max(at), count(*), count(*)
FROM u GROUP BY fingerprint ORDER BY fingerprint
ON CONFLICT (fingerprint) DO UPDATE SET
    count = g.count + EXCLUDED.count,
    open_count = g.open_count + EXCLUDED.open_count,
    first_seen = least(g.first_seen, EXCLUDED.first_seen),
    sample = CASE WHEN EXCLUDED.last_seen >= g.last_seen THEN EXCLUDED.sample ELSE g.sample END,
    last_seen = greatest(g.last_seen, EXCLUDED.last_seen),
    -- Seen again after it was resolved: a regression, open again.
    regressions = g.regressions + (g.resolved_at IS NOT NULL)::int,
    resolved_at = NULL
"""

RECORD_ORDERS = """
INSERT INTO activity_group_orders (fingerprint, order_id)
SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS u(fingerprint, order_id)
WHERE order_id IS NOT NULL
ORDER BY 1, 2
ON CONFLICT DO NOTHING
"""


def grouped(entries: Sequence[LogEntry]) -> list[tuple[str, LogEntry]]:
    """The entries that belong to a group, with their fingerprints."""
    out = []
    for e in entries:
        fp = fingerprint(e.event_type, e.level, e.message)
        if fp is not None:
            out.append((fp, e))
    return out


async def record_occurrences(raw: Any, new: Sequence[LogEntry]) -> list[str]:
    """Fold newly inserted entries into their groups; returns the fingerprints touched.

    Call before anything in the same transaction resolves entries: the occurrences
    are counted open here, and the resolve trigger then counts them down.
    """
    rows = grouped(new)
    if not rows:
        return []
    await raw.execute(
        RECORD_OCCURRENCES,
        [fp for fp, _ in rows],
        [e.event_type for _, e in rows],
        [e.category for _, e in rows],
        [e.level for _, e in rows],
        [normalise(e.message) for _, e in rows],
        [e.message for _, e in rows],
        [e.occurred_at for _, e in rows],
    )
    await raw.execute(RECORD_ORDERS, [fp for fp, _ in rows], [e.order_id for _, e in rows])
    return sorted({fp for fp, _ in rows})


REBUILD_GROUPS = """
SELECT fingerprint, min(event_type) AS event_type, min(category) AS category,
       min(level) AS level, (array_agg(message ORDER BY occurred_at DESC, id DESC))[1] AS sample,
       min(occurred_at) AS first_seen, max(occurred_at) AS last_seen, count(*) AS count,
       count(*) FILTER (WHERE resolved_at IS NULL) AS open_count,
       max(resolved_at) AS resolved_at
FROM {log} WHERE fingerprint IS NOT NULL
GROUP BY fingerprint
"""

INSERT_GROUPS = """
INSERT INTO activity_groups (fingerprint, event_type, category, level, title, sample,
                             first_seen, last_seen, count, open_count, resolved_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bigint[],
                     $11::timestamptz[])
"""


REBUILD_ORDERS = """
INSERT INTO activity_group_orders (fingerprint, order_id)
SELECT DISTINCT fingerprint, order_id FROM {log}
WHERE fingerprint IS NOT NULL AND order_id IS NOT NULL
"""


async def rebuild_groups(raw: Any, log: str = "activity_log") -> int:
    """Groups made again from the log (after a replay's swap, or the migration's backfill).

    What the log still holds is what is counted: occurrences pruned away are gone
    from the counts, and regressions start again from zero.
    """
    await raw.execute("DELETE FROM activity_group_orders")
    await raw.execute("DELETE FROM activity_groups")
    rows = await raw.fetch(REBUILD_GROUPS.format(log=log))
    if rows:
        await raw.execute(
            INSERT_GROUPS,
            [r["fingerprint"] for r in rows],
            [r["event_type"] for r in rows],
            [r["category"] for r in rows],
            [r["level"] for r in rows],
            [normalise(r["sample"]) for r in rows],
            [r["sample"] for r in rows],
            [r["first_seen"] for r in rows],
            [r["last_seen"] for r in rows],
            [r["count"] for r in rows],
            [r["open_count"] for r in rows],
            [None if r["open_count"] else r["resolved_at"] for r in rows],
        )
    await raw.execute(REBUILD_ORDERS.format(log=log))
    return len(rows)
