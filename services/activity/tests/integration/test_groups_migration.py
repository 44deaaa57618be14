"""Migration 0008 on a log that already holds failures: they are fingerprinted and grouped."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shoptrail.activity.adapters.migrate import migrate

pytestmark = pytest.mark.postgres

INSERT = """
INSERT INTO activity_log (event_id, event_type, source, category, level, order_id, message,
                          payload, occurred_at, resolved_at, resolution)
VALUES (:id, :type, '/t', :category, :level, :order, :message, CAST(:payload AS jsonb),
        now() - make_interval(mins => :ago), :resolved, :resolution)
"""


async def test_existing_failures_are_grouped_by_the_migration(database_url: str) -> None:
    await migrate(database_url, "0007")
    engine = create_async_engine(database_url)
    rows = [
        *(("order.submission_failed", "fulfilment", "error", f"ord_{n}",
           f"Submission to Printify failed: timeout after {n}s", None) for n in range(6)),
        ("order.submission_failed", "fulfilment", "error", "ord_1",
         "Submission to Printify failed: out of stock", "resolved"),
        ("order.created", "orders", "info", "ord_1", "Order placed", None),
    ]  # fmt: skip
    try:
        async with engine.begin() as conn:
            for i, (kind, category, level, order, message, resolution) in enumerate(rows):
                await conn.execute(
                    text(INSERT),
                    {
                        "id": uuid.uuid4(), "type": kind, "category": category, "level": level,
                        "order": order, "message": message, "payload": json.dumps({}),
                        "ago": 100 - i, "resolution": resolution,
                        "resolved": None if resolution is None else datetime.now(UTC),
                    },
                )  # fmt: skip
        await migrate(database_url)
        async with engine.connect() as conn:
            groups = (
                await conn.execute(
                    text("SELECT title, count, open_count, resolved_at IS NULL AS open "
                         "FROM activity_groups ORDER BY count DESC")
                )
            ).all()  # fmt: skip
            unfingerprinted = await conn.scalar(
                text("SELECT count(*) FROM activity_log WHERE fingerprint IS NULL")
            )
            orders = await conn.scalar(text("SELECT count(*) FROM activity_group_orders"))
        assert [tuple(g) for g in groups] == [
            ("Submission to Printify failed: timeout after <n>s", 6, 6, True),
            ("Submission to Printify failed: out of stock", 1, 0, False),
        ]
        assert (unfingerprinted, orders) == (1, 7)  # only the fact is left ungrouped

        # Open failures deleted (as pruning does) leave their group (the delete trigger).
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM activity_log WHERE order_id IN ('ord_0', 'ord_2')")
            )
        async with engine.connect() as conn:
            open_count = await conn.scalar(
                text("SELECT open_count FROM activity_groups WHERE count = 6")
            )
        assert open_count == 4
    finally:
        await engine.dispose()
