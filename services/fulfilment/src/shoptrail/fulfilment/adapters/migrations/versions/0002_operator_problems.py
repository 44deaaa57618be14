"""Operator problems (said once), and the problem an order waits for.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "fulfilment_orders",
        sa.Column(
            "waiting_for",
            sa.Text(),
            comment="The operator problem this order waits for, if any.",
        ),
    )
    op.create_table(
        "fulfilment_operator_problems",
        sa.Column(
            "problem",
            sa.Text(),
            primary_key=True,
            comment="A stable key: fulfilment.printify_auth",
        ),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), comment="None: every call to the provider is refused."),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("when_cleared", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )


def downgrade() -> None:
    op.drop_table("fulfilment_operator_problems")
    op.drop_column("fulfilment_orders", "waiting_for")
