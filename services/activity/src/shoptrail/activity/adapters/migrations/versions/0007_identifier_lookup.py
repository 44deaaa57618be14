"""Identifiers find their order's entries at once: lookups on the order read model.

Searching the feed for an order number, a customer's email, a tracking number
or a provider's order id finds the entries of the orders it names (through the
timeline index), as well as the messages that mention it. Those identifiers
live in the `orders` read model, one row per order; these indexes (on the
lowercased value: people type them in any case) make the lookup a few index
probes however long the log. Nothing is added to the log itself, so writing
an entry costs what it did.

Built CONCURRENTLY, outside the migration's transaction: a live shop keeps
taking orders while they build.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"

INDEXES = {
    "orders_number_lower": "lower(order_number)",
    "orders_email_lower": "lower(customer_email)",
    "orders_tracking_lower": "lower(tracking_number)",
    "orders_provider_order_lower": "lower(provider_order_id)",
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, expression in INDEXES.items():
            # A build interrupted half way leaves an invalid index: drop it, build again.
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE INDEX CONCURRENTLY {name} ON orders ({expression})")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
