"""Numbered changes for live push: what changed, in commit order, announced by NOTIFY.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shoptrail.activity.adapters.sqlscript import statements

revision = "0002"
down_revision = "0001"

UPGRADE = """
CREATE SEQUENCE activity_change_seq;

CREATE TABLE activity_changes (
    seq        bigint PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('entries', 'reload')),
    entry_ids  bigint[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX activity_changes_created ON activity_changes (created_at);

-- Call last in a transaction that changed the log. The advisory lock is held
-- until commit, so change numbers follow commit order: a client that saw
-- change N has seen every change before it. NOTIFY is delivered on commit only.
CREATE FUNCTION activity_record_change(change_kind text, ids bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shoptrail-activity-changes'));
    next_seq := nextval('activity_change_seq');
    INSERT INTO activity_changes (seq, kind, entry_ids) VALUES (next_seq, change_kind, ids);
    PERFORM pg_notify('activity_changes', next_seq::text);
    RETURN next_seq;
END
$$;
"""

DOWNGRADE = """
DROP FUNCTION activity_record_change(text, bigint[]);
DROP TABLE activity_changes;
DROP SEQUENCE activity_change_seq;
"""


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(DOWNGRADE):
        op.execute(statement)
