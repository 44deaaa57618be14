"""The notifier's PostgreSQL tables (SQLAlchemy Core); Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    Uuid,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shoptrail.events.outbox import outbox_table

metadata = MetaData()


def _at(name: str, *, nullable: bool = True, comment: str | None = None) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable, comment=comment)


shop_settings = Table(
    "shop_settings",
    metadata,
    Column("id", SmallInteger, primary_key=True, server_default=text("1")),
    Column("sender_name", Text),
    Column("sender_address", Text),
    Column("recovery_enabled", Boolean, nullable=False, server_default=false()),
    _at("updated_at"),
    CheckConstraint("id = 1", name="shop_settings_single_row"),
)

emails = Table(
    "emails",
    metadata,
    Column("id", Uuid, primary_key=True, comment="The causing event's id (one email per event)."),
    Column("kind", Text, nullable=False),
    Column("recipient", Text, comment="Null until sending for shipping emails."),
    Column("order_id", Text),
    Column("cart_id", Text),
    Column("context", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _at("created_at", nullable=False),
    _at("claimed_at"),
    _at("finished_at"),
    Column("last_error", Text),
    Index("emails_status_created_at", "status", "created_at"),
)

customer_orders = Table(
    "customer_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("order_number", Text, nullable=False),
    Column("email", Text, nullable=False),
    _at("placed_at", nullable=False),
    Index("customer_orders_email_placed_at", "email", "placed_at"),
)

abandoned_carts = Table(
    "abandoned_carts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("checkout_session_id", Text, nullable=False, unique=True),
    Column("email", Text, nullable=False),
    Column("line_items", JSONB, nullable=False),
    Column("total", JSONB, nullable=False),
    _at("abandoned_at", nullable=False),
    _at("due_at", nullable=False),
    _at("created_at", nullable=False),
    _at("emailed_at", comment="Set once: the gate that allows a single email per cart."),
    Column("email_id", Uuid),
    _at("closed_at"),
    Column("closed_reason", Text),
    Column("recovered_order_id", Text),
    Index("abandoned_carts_email", "email"),
    Index("abandoned_carts_created_at", "created_at"),
)

suppressions = Table(
    "email_suppressions",
    metadata,
    Column("email", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    _at("created_at", nullable=False),
)

operator_problems = Table(
    "operator_problems",
    metadata,
    Column("problem", Text, primary_key=True, comment="A stable key: notifier.smtp_sender_refused"),
    Column("summary", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("detail", Text),
    _at("opened_at", nullable=False),
    _at("last_seen_at", nullable=False),
    Column(
        "holding",
        Boolean,
        nullable=False,
        server_default=text("true"),
        comment="True: new emails are held untried; false: the next sends are a trial.",
    ),
    _at("trial_at", comment="When sends were last let through to test a fix."),
)

alert_settings = Table(
    "alert_settings",
    metadata,
    Column("id", SmallInteger, primary_key=True, server_default=text("1")),
    Column("enabled", Boolean, nullable=False, server_default=false()),
    Column("email", Text, comment="Where alerts go; none: email alerts are off."),
    Column("digest_minutes", Integer, nullable=False, server_default=text("15")),
    Column("quiet_start", Text, comment="HH:MM local time; with quiet_end, alerts wait."),
    Column("quiet_end", Text),
    Column("timezone", Text, nullable=False, server_default=text("'UTC'")),
    Column("webhook_url", Text),
    Column("webhook_secret", Text, comment="whsec_… (Standard Webhooks)."),
    _at("last_sent_at", comment="When the last alert went: the digest pacing starts here."),
    _at("updated_at"),
    CheckConstraint("id = 1", name="alert_settings_single_row"),
    CheckConstraint("digest_minutes >= 1", name="alert_settings_digest_minutes"),
)

alert_items = Table(
    "alert_items",
    metadata,
    Column(
        "event_id", Uuid, primary_key=True, comment="One item per event: redelivery is a no-op."
    ),
    Column("state", Text, nullable=False, comment="new, pending, sent, dropped, failed"),
    Column("entry_id", BigInteger, comment="activity's entry, once it is logged."),
    Column("title", Text),
    Column("level", Text),
    Column("order_id", Text),
    _at("seen_at", nullable=False),
    _at("finished_at"),
    Index("alert_items_state_seen_at", "state", "seen_at"),
)

event_outbox = outbox_table(metadata)
