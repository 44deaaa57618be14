"""operator problems (held emails)

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Emails gain the status `held` (a text column: no change needed there).
    op.create_table('operator_problems',
    sa.Column('problem', sa.Text(), nullable=False, comment='A stable key: notifier.smtp_sender_refused'),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('fix', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holding', sa.Boolean(), server_default=sa.text('true'), nullable=False, comment='True: new emails are held untried; false: the next sends are a trial.'),
    sa.Column('trial_at', sa.DateTime(timezone=True), nullable=True, comment='When sends were last let through to test a fix.'),
    sa.PrimaryKeyConstraint('problem')
    )


def downgrade() -> None:
    op.execute("UPDATE emails SET status = 'pending' WHERE status = 'held'")
    op.drop_table('operator_problems')
