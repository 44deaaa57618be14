"""Which entries a change inserted, not only which it touched.

A page that stays current (`/api/feed/changes`) adds the entries a change
inserted and only updates those it changed (a resolution): an entry resolved
on page 5 is no new entry for the reader of page 1. A change lists the
entries it inserted first in `entry_ids`; `inserted` says how many.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shoptrail.activity.adapters.sqlscript import statements

revision = "0005"
down_revision = "0004"

UPGRADE = """
ALTER TABLE activity_changes ADD COLUMN inserted integer NOT NULL DEFAULT 0;

DROP FUNCTION activity_record_change(text, bigint[]);

-- As in 0002; `inserted`: how many of `ids`, from the first, the change inserted.
CREATE FUNCTION activity_record_change(change_kind text, ids bigint[], inserted integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shoptrail-activity-changes'));
    next_seq := nextval('activity_change_seq');
    INSERT INTO activity_changes (seq, kind, entry_ids, inserted)
    VALUES (next_seq, change_kind, ids, inserted);
    PERFORM pg_notify('activity_changes', next_seq::text);
    RETURN next_seq;
END
$$;
"""

DOWNGRADE = """
DROP FUNCTION activity_record_change(text, bigint[], integer);

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

ALTER TABLE activity_changes DROP COLUMN inserted;
"""


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(DOWNGRADE):
        op.execute(statement)
