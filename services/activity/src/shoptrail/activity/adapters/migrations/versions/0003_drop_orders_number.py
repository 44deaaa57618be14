"""Drop orders_number: no query used it, and every order write paid for it.

The orders list matches numbers with a case-insensitive prefix (ILIKE), which
a plain btree on order_number cannot serve; exact look-ups go by order id.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS orders_number")


def downgrade() -> None:
    op.execute("CREATE INDEX orders_number ON orders (order_number)")
