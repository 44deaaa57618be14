"""Each entry remembers where its event was read: topic, partition, offset.

The entry details page shows them, so an operator can find the very record
on the bus (to replay it, or compare it with what a consumer did). Nullable
with no default, so adding them rewrites nothing; entries logged before this
(and entries written straight into the log, not read from Kafka) have none.

Revision ID: 0009
Revises: 0007 (0008 is another branch's; the chain is rejoined on merge)
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE activity_log ADD COLUMN kafka_topic text, "
        "ADD COLUMN kafka_partition integer, ADD COLUMN kafka_offset bigint"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE activity_log DROP COLUMN kafka_topic, "
        "DROP COLUMN kafka_partition, DROP COLUMN kafka_offset"
    )
