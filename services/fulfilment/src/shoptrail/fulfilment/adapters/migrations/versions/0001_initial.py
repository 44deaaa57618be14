"""Orders, products and the outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfilment_orders",
        sa.Column("order_id", sa.Text(), primary_key=True),
        sa.Column("order_number", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempt_limit", sa.Integer(), nullable=False),
        sa.Column("manual_retry", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("last_error", sa.Text()),
        sa.Column("provider_order_id", sa.Text()),
        sa.Column("carrier", sa.Text()),
        sa.Column("tracking_number", sa.Text()),
        sa.Column("tracking_url", sa.Text()),
        sa.Column("correlation_id", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("polled_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_fulfilment_orders_provider_order_id", "fulfilment_orders", ["provider_order_id"]
    )
    op.create_table(
        "fulfilment_products",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("provider", "product_id"),
    )
    op.create_table(
        "fulfilment_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary()),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("fulfilment_outbox")
    op.drop_table("fulfilment_products")
    op.drop_table("fulfilment_orders")
