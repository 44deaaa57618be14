"""Grouped failures: a fingerprint per warning/error, and the groups they fold into.

`activity_log.fingerprint` (nullable, no default: adding it rewrites nothing)
is the entry's event type plus its message with ids, numbers, order numbers,
emails and uuids taken out (`domain.groups`). `activity_groups` holds one row
per fingerprint: counts, first/last seen, how many entries are still open, and
resolved/reopened state; `activity_group_orders` the orders each group touched.

A statement trigger (like the counters of 0001) keeps `open_count` right
whatever resolves entries (a person, a bulk resolve, auto-resolve, pruning):
a group whose last open entry is resolved is resolved.

Existing warnings and errors are fingerprinted here (in Python, in batches),
and their groups built. The entries index is built CONCURRENTLY afterwards,
outside the migration's transaction, like 0007's.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
from sqlalchemy import text

from shoptrail.activity.adapters.sqlscript import statements
from shoptrail.activity.domain.groups import fingerprint, normalise

revision = "0008"
down_revision = "0007"

UPGRADE = """
ALTER TABLE activity_log ADD COLUMN fingerprint text;

CREATE TABLE activity_groups (
    fingerprint text PRIMARY KEY,
    event_type  text NOT NULL,
    category    text NOT NULL,
    level       text NOT NULL,
    title       text NOT NULL,
    sample      text NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    count       bigint NOT NULL DEFAULT 0,
    open_count  bigint NOT NULL DEFAULT 0,
    regressions integer NOT NULL DEFAULT 0,
    resolved_at timestamptz
);
-- Open groups, newest occurrence first (the badge counts these); then all groups.
CREATE INDEX activity_groups_open ON activity_groups (last_seen DESC, fingerprint)
    WHERE resolved_at IS NULL;
CREATE INDEX activity_groups_recent ON activity_groups (last_seen DESC, fingerprint);

CREATE TABLE activity_group_orders (
    fingerprint text NOT NULL REFERENCES activity_groups ON DELETE CASCADE,
    order_id    text NOT NULL,
    PRIMARY KEY (fingerprint, order_id)
);

CREATE FUNCTION activity_groups_settle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Open entries counted per fingerprint: -1 for each that was open before,
    -- +1 for each open after. Rows locked in fingerprint order: no deadlock
    -- between two statements settling the same groups.
    IF TG_OP = 'UPDATE' THEN
        WITH delta AS (
            SELECT fingerprint, sum(d) AS d FROM (
                SELECT fingerprint, -1 AS d FROM old_rows
                WHERE fingerprint IS NOT NULL AND resolved_at IS NULL
                UNION ALL
                SELECT fingerprint, 1 FROM new_rows
                WHERE fingerprint IS NOT NULL AND resolved_at IS NULL
            ) x GROUP BY 1 HAVING sum(d) <> 0
        ), locked AS (
            SELECT g.fingerprint, delta.d FROM activity_groups g JOIN delta USING (fingerprint)
            ORDER BY g.fingerprint FOR UPDATE OF g
        )
        UPDATE activity_groups g
        SET open_count = greatest(g.open_count + locked.d, 0),
            resolved_at = CASE WHEN g.open_count + locked.d > 0 THEN NULL
                               ELSE coalesce(g.resolved_at, now()) END
        FROM locked WHERE g.fingerprint = locked.fingerprint;
    ELSE
        WITH delta AS (
            SELECT fingerprint, count(*) AS d FROM old_rows
            WHERE fingerprint IS NOT NULL AND resolved_at IS NULL GROUP BY 1
        ), locked AS (
            SELECT g.fingerprint, delta.d FROM activity_groups g JOIN delta USING (fingerprint)
            ORDER BY g.fingerprint FOR UPDATE OF g
        )
        UPDATE activity_groups g
        SET open_count = greatest(g.open_count - locked.d, 0),
            resolved_at = CASE WHEN g.open_count - locked.d > 0 THEN g.resolved_at
                               ELSE coalesce(g.resolved_at, now()) END
        FROM locked WHERE g.fingerprint = locked.fingerprint;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION activity_groups_attach(log_table regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER activity_groups_upd AFTER UPDATE ON %s
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION activity_groups_settle()', log_table);
    EXECUTE format('CREATE TRIGGER activity_groups_del AFTER DELETE ON %s
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION activity_groups_settle()', log_table);
END
$$;
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS activity_groups_upd ON activity_log;
DROP TRIGGER IF EXISTS activity_groups_del ON activity_log;
DROP FUNCTION activity_groups_attach(regclass);
DROP FUNCTION activity_groups_settle();
DROP TABLE activity_group_orders;
DROP TABLE activity_groups;
ALTER TABLE activity_log DROP COLUMN fingerprint;
"""

BATCH = 5000


def _backfill() -> None:
    """Fingerprint the warnings and errors already logged, then build their groups."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            text(
                "SELECT id, event_type, level, message FROM activity_log "
                "WHERE level IN ('warning', 'error') AND id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        last = rows[-1].id
        bind.execute(
            text(
                "UPDATE activity_log l SET fingerprint = u.fp "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:fps AS text[])) AS u(id, fp) "
                "WHERE l.id = u.id"
            ),
            {
                "ids": [r.id for r in rows],
                "fps": [fingerprint(r.event_type, r.level, r.message) for r in rows],
            },
        )
    groups = bind.execute(
        text(
            "SELECT fingerprint, min(event_type) AS event_type, min(category) AS category, "
            "min(level) AS level, "
            "(array_agg(message ORDER BY occurred_at DESC, id DESC))[1] AS sample, "
            "min(occurred_at) AS first_seen, max(occurred_at) AS last_seen, count(*) AS n, "
            "count(*) FILTER (WHERE resolved_at IS NULL) AS open_n, "
            "max(resolved_at) AS resolved_at "
            "FROM activity_log WHERE fingerprint IS NOT NULL GROUP BY fingerprint"
        )
    ).all()
    for g in groups:
        bind.execute(
            text(
                "INSERT INTO activity_groups (fingerprint, event_type, category, level, title, "
                "sample, first_seen, last_seen, count, open_count, resolved_at) VALUES "
                "(:fp, :t, :c, :lv, :title, :sample, :first, :last, :n, :open_n, :resolved)"
            ),
            {
                "fp": g.fingerprint, "t": g.event_type, "c": g.category, "lv": g.level,
                "title": normalise(g.sample), "sample": g.sample, "first": g.first_seen,
                "last": g.last_seen, "n": g.n, "open_n": g.open_n,
                "resolved": None if g.open_n else g.resolved_at,
            },
        )  # fmt: skip
    bind.execute(
        text(
            "INSERT INTO activity_group_orders (fingerprint, order_id) "
            "SELECT DISTINCT fingerprint, order_id FROM activity_log "
            "WHERE fingerprint IS NOT NULL AND order_id IS NOT NULL"
        )
    )


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)
    _backfill()
    op.execute("SELECT activity_groups_attach('activity_log')")
    with op.get_context().autocommit_block():
        # One group's entries, newest first (its page, resolving it); open ones only
        # are what resolving a group touches.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS activity_log_group")
        op.execute(
            "CREATE INDEX CONCURRENTLY activity_log_group "
            "ON activity_log (fingerprint, occurred_at DESC, id DESC) "
            "WHERE fingerprint IS NOT NULL"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS activity_log_group")
    for statement in statements(DOWNGRADE):
        op.execute(statement)
