"""The orders list filtered by status reads one status's orders, newest placed first.

`/api/orders?status=submission_failed` pages through the few failed orders in
the list's order (placed DESC NULLS LAST, id DESC). Without this index the
newest-first index is walked past every order of the other statuses to find
them; with it, a page is one range of one index whatever the mix.

Built CONCURRENTLY, outside the migration's transaction, as 0007: a live shop
keeps taking orders while it builds. A replay's rebuild tables copy it (LIKE
… INCLUDING ALL).

Revision ID: 0010
Revises: 0007 (the integrator re-chains it after 0008/0009)
"""

from alembic import op

revision = "0010"
down_revision = "0009"

NAME = "orders_status_newest"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build interrupted half way leaves an invalid index: drop it, build again.
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
        op.execute(
            f"CREATE INDEX CONCURRENTLY {NAME} "
            "ON orders (status, created_at DESC NULLS LAST, order_id DESC)"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
