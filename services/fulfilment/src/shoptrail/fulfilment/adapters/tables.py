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

outbox = outbox_table(metadata, "fulfilment_outbox")
