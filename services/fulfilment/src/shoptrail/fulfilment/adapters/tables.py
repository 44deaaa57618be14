"""Fulfilment's tables (the Alembic migrations create exactly these)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shoptrail.events.outbox import outbox_table

metadata = MetaData()

orders = Table(
    "fulfilment_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("order_number", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("details", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("attempt_limit", Integer, nullable=False),
    Column("manual_retry", Boolean, nullable=False, server_default="false"),
    Column("last_error", Text),
    Column("provider_order_id", Text, index=True),
    Column("carrier", Text),
    Column("tracking_number", Text),
    Column("tracking_url", Text),
    Column("correlation_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("polled_at", DateTime(timezone=True)),
    Column("waiting_for", Text, comment="The operator problem this order waits for, if any."),
)

products = Table(
    "fulfilment_products",
    metadata,
    Column("provider", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("provider", "product_id"),
)

operator_problems = Table(
    "fulfilment_operator_problems",
    metadata,
    Column("problem", Text, primary_key=True, comment="A stable key: fulfilment.printify_auth"),
    Column("provider", Text, nullable=False),
    Column("scope", Text, comment="None: every call to the provider is refused."),
    Column("summary", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("when_cleared", Text, nullable=False),
    Column("detail", Text),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Open operator problems: one row each, from first sight until a provider call disproves it."""

outbox = outbox_table(metadata, "fulfilment_outbox")
