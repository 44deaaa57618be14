"""alerts to the owner: settings and the items waiting for an alert

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_settings',
    sa.Column('id', sa.SmallInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('email', sa.Text(), nullable=True, comment='Where alerts go; none: email alerts are off.'),
    sa.Column('digest_minutes', sa.Integer(), server_default=sa.text('15'), nullable=False),
    sa.Column('quiet_start', sa.Text(), nullable=True, comment='HH:MM local time; with quiet_end, alerts wait.'),
    sa.Column('quiet_end', sa.Text(), nullable=True),
    sa.Column('timezone', sa.Text(), server_default=sa.text("'UTC'"), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('webhook_secret', sa.Text(), nullable=True, comment='whsec_… (Standard Webhooks).'),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True, comment='When the last alert went: the digest pacing starts here.'),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name='alert_settings_single_row'),
    sa.CheckConstraint('digest_minutes >= 1', name='alert_settings_digest_minutes'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('alert_items',
    sa.Column('event_id', sa.Uuid(), nullable=False, comment='One item per event: redelivery is a no-op.'),
    sa.Column('state', sa.Text(), nullable=False, comment='new, pending, sent, dropped, failed'),
    sa.Column('entry_id', sa.BigInteger(), nullable=True, comment="activity's entry, once it is logged."),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('level', sa.Text(), nullable=True),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index('alert_items_state_seen_at', 'alert_items', ['state', 'seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index('alert_items_state_seen_at', table_name='alert_items')
    op.drop_table('alert_items')
    op.drop_table('alert_settings')
