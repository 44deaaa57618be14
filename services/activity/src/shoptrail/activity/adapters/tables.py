"""The activity store's tables (the migration in `migrations/` is the source of DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

LOG_TABLE = "activity_log"

activity_log = Table(
    LOG_TABLE,
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),  # (id, inserted_at)
    Column("event_id", Uuid, nullable=False),  # one row per event: activity_event_ids
    Column("event_type", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("order_id", Text),
    Column("message", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("correlation_id", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("inserted_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolution", Text),
    Column("resolution_note", Text),
    Column("trace_id", Text),
    Column("fingerprint", Text),  # grouped failures (migration 0008, domain/groups.py)
    Column("kafka_topic", Text),
    Column("kafka_partition", Integer),
    Column("kafka_offset", BigInteger),
)

activity_event_ids = Table(
    "activity_log_event_ids",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("log_id", BigInteger, nullable=False),
)
"""Which row holds each event: a unique event id across every month (migration 0012)."""

activity_counts = Table(
    "activity_counts",
    metadata,
    Column("category", Text, primary_key=True),
    Column("level", Text, primary_key=True),
    Column("open", Boolean, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("order_number", Text),
    Column("customer_email", Text),
    Column("total_amount", BigInteger),
    Column("currency", Text),
    Column("line_items", JSONB),
    Column("shipping_address", JSONB),
    Column("status", Text, nullable=False),
    Column("status_at", DateTime(timezone=True), nullable=False),
    Column("provider", Text),
    Column("provider_order_id", Text),
    Column("carrier", Text),
    Column("tracking_number", Text),
    Column("tracking_url", Text),
    Column("refunded_amount", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
