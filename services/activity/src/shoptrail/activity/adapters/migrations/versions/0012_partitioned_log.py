"""The log partitioned by month: retention drops whole months instead of deleting rows.

`activity_log` becomes a table partitioned by RANGE on `inserted_at` (the column
retention goes by), one partition per UTC month (`activity_log_pYYYYMM`), made
ahead of time (this month and the next two: here and at every prune), and a
DEFAULT partition (`activity_log_default`) so that no timestamp ever fails an
insert. The DEFAULT partition also holds the unresolved warnings and errors a
retired month leaves behind (adapters/pruning.py).

One row per event id. A unique index on a partitioned table must include the
partition key, and (event_id, inserted_at) would let a redelivery (logged at
another time) in twice. So event ids are claimed in a side table,
`activity_log_event_ids (event_id PRIMARY KEY, log_id)`, by a statement trigger
on the log (`activity_event_ids_claim`): every statement that inserts rows
claims their ids in one set-based INSERT and fails with unique_violation if an
id belongs to another row, whoever writes (the consumer's COPY, a replay, SQL
by hand). Writers that expect duplicates claim first, `ON CONFLICT DO NOTHING`
(adapters/store.py), as they relied on the unique index before.

The statement triggers of 0001 (counts) and 0008 (groups) are attached to the
partitioned table as before (`activity_counts_attach`, `activity_groups_attach`):
PostgreSQL fires statement triggers with transition tables on the partitioned
parent for every row written through it, moved rows included.

Online. This migration builds the new table beside the live one
(`activity_log_next`, with its partitions and side table) and mirrors every
write on the live table into it (statement triggers). A log of up to
`INLINE_COPY_LIMIT` rows is then copied and swapped in here at once; a bigger
one keeps serving from the old table until the operator runs
`shoptrail-activity migrate-log`, which copies it in batches while the service
writes, then swaps in one short transaction (deploy/README.md).

Revision ID: 0012
Revises: 0011
"""

from alembic import op
from sqlalchemy import text

from shoptrail.activity.adapters import log_migration
from shoptrail.activity.adapters.sqlscript import statements

revision = "0012"
down_revision = "0011"

FUNCTIONS = """
-- Claims the event ids a statement inserted into a log, in that log's side table
-- (TG_ARGV[0]: the side table's oid, so renames at a swap do not matter). An id
-- already claimed by the same row (claimed first by the writer) is fine.
CREATE FUNCTION activity_event_ids_claim() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids regclass := TG_ARGV[0]::oid::regclass;
    claimed bigint;
    total bigint;
    own bigint;
BEGIN
    EXECUTE format('INSERT INTO %s (event_id, log_id) SELECT event_id, id FROM new_rows
                    ON CONFLICT (event_id) DO NOTHING', ids);
    GET DIAGNOSTICS claimed = ROW_COUNT;
    SELECT count(*) INTO total FROM new_rows;
    IF claimed < total THEN
        EXECUTE format('SELECT count(*) FROM new_rows n JOIN %s e
                        ON e.event_id = n.event_id AND e.log_id = n.id', ids) INTO own;
        IF own < total THEN
            RAISE unique_violation USING MESSAGE = format(
                'an event is logged once: %s event id(s) already in %s', total - own, ids);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION activity_event_ids_attach(log_table regclass, ids_table regclass)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER activity_event_ids_claim AFTER INSERT ON %s
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION activity_event_ids_claim(%s)',
        log_table, ids_table::oid);
END
$$;

-- The partition of `log_table` for the UTC month holding `month`: made if missing.
-- Made apart and attached (SHARE UPDATE EXCLUSIVE on the log: readers and writers go
-- on; CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE). Rows the DEFAULT
-- partition holds for that month move into it first.
CREATE FUNCTION activity_log_add_month(log_table regclass, month timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first timestamp := date_trunc('month', month AT TIME ZONE 'UTC');
    lo timestamptz := first AT TIME ZONE 'UTC';
    hi timestamptz := (first + interval '1 month') AT TIME ZONE 'UTC';
    base text := (SELECT relname FROM pg_class WHERE oid = log_table);
    part text := format('%s_p%s', base, to_char(first, 'YYYYMM'));
    fallback regclass := to_regclass(quote_ident(base || '_default'));
BEGIN
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part, log_table);
    IF fallback IS NOT NULL THEN
        -- Straight from partition to table: the log's triggers do not fire (the rows
        -- stay in the log, so counts, groups and claimed ids are unchanged).
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE inserted_at >= $1
                        AND inserted_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
                       fallback, part) USING lo, hi;
    END IF;
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I
                    CHECK (inserted_at >= %L AND inserted_at < %L)',
                   part, part || '_bounds', lo, hi);
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   log_table, part, lo, hi);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_bounds');
    RETURN part;
END
$$;

-- The months from `since` to `months_ahead` months after `now`, and the DEFAULT
-- partition; returns how many partitions it made.
CREATE FUNCTION activity_log_ensure_partitions(
    log_table regclass, since timestamptz, months_ahead integer
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    base text := (SELECT relname FROM pg_class WHERE oid = log_table);
    month timestamp := date_trunc('month', since AT TIME ZONE 'UTC');
    last timestamp := date_trunc('month', now() AT TIME ZONE 'UTC')
                      + make_interval(months => months_ahead);
    made integer := 0;
BEGIN
    IF to_regclass(quote_ident(base || '_default')) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %s DEFAULT', base || '_default', log_table);
        made := made + 1;
    END IF;
    WHILE month <= last LOOP
        IF activity_log_add_month(log_table, month AT TIME ZONE 'UTC') IS NOT NULL THEN
            made := made + 1;
        END IF;
        month := month + interval '1 month';
    END LOOP;
    RETURN made;
END
$$;
"""

NEXT = """
CREATE TABLE activity_log_next (
    LIKE activity_log INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS
) PARTITION BY RANGE (inserted_at);
ALTER TABLE activity_log_next ADD CONSTRAINT activity_log_next_pkey PRIMARY KEY (id, inserted_at);
CREATE INDEX activity_log_next_timeline ON activity_log_next (order_id, occurred_at, id)
    WHERE order_id IS NOT NULL;
CREATE INDEX activity_log_next_feed ON activity_log_next (occurred_at DESC, id DESC)
    WHERE level <> 'debug';
CREATE INDEX activity_log_next_feed_with_debug ON activity_log_next (occurred_at DESC, id DESC);
CREATE INDEX activity_log_next_attention ON activity_log_next (occurred_at DESC, id DESC)
    WHERE level IN ('warning', 'error') AND resolved_at IS NULL;
CREATE INDEX activity_log_next_category ON activity_log_next (category, occurred_at DESC, id DESC);
CREATE INDEX activity_log_next_level ON activity_log_next (level, occurred_at DESC, id DESC);
CREATE INDEX activity_log_next_search ON activity_log_next USING gin (message gin_trgm_ops);
CREATE INDEX activity_log_next_group ON activity_log_next (fingerprint, occurred_at DESC, id DESC)
    WHERE fingerprint IS NOT NULL;
-- No index on inserted_at: retention detaches whole months (the partition bounds).

CREATE TABLE activity_log_next_event_ids (
    event_id uuid PRIMARY KEY,
    log_id   bigint NOT NULL
);
SELECT activity_event_ids_attach('activity_log_next', 'activity_log_next_event_ids');
SELECT activity_log_ensure_partitions(
    'activity_log_next', coalesce((SELECT min(inserted_at) FROM activity_log), now()), 2);

-- Until the swap, every write on the live table is made on the new one too: inserts
-- (copied or not), and updates and deletes of the rows already copied.
CREATE FUNCTION activity_log_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO activity_log_next OVERRIDING SYSTEM VALUE SELECT * FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        WITH gone AS (
            DELETE FROM activity_log_next n USING old_rows o
            WHERE n.id = o.id AND n.inserted_at = o.inserted_at RETURNING n.id
        )
        INSERT INTO activity_log_next OVERRIDING SYSTEM VALUE
        SELECT r.* FROM new_rows r WHERE r.id IN (SELECT id FROM gone);
    ELSE
        DELETE FROM activity_log_next n USING old_rows o
        WHERE n.id = o.id AND n.inserted_at = o.inserted_at;
        DELETE FROM activity_log_next_event_ids e USING old_rows o
        WHERE e.event_id = o.event_id AND e.log_id = o.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER activity_log_mirror_ins AFTER INSERT ON activity_log
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION activity_log_mirror();
CREATE TRIGGER activity_log_mirror_upd AFTER UPDATE ON activity_log
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION activity_log_mirror();
CREATE TRIGGER activity_log_mirror_del AFTER DELETE ON activity_log
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION activity_log_mirror();
"""

DOWNGRADE = """
DROP TABLE IF EXISTS activity_log_next, activity_log_next_event_ids;
DROP TRIGGER IF EXISTS activity_log_mirror_ins ON activity_log;
DROP TRIGGER IF EXISTS activity_log_mirror_upd ON activity_log;
DROP TRIGGER IF EXISTS activity_log_mirror_del ON activity_log;
DROP FUNCTION IF EXISTS activity_log_mirror();
DROP FUNCTION activity_log_ensure_partitions(regclass, timestamptz, integer);
DROP FUNCTION activity_log_add_month(regclass, timestamptz);
DROP FUNCTION activity_event_ids_attach(regclass, regclass);
DROP FUNCTION activity_event_ids_claim();
"""


def upgrade() -> None:
    for statement in statements(FUNCTIONS):
        op.execute(statement)
    bind = op.get_bind()
    if bind.scalar(text(log_migration.IS_PARTITIONED)):
        return  # a log made partitioned already (never, unless 0012 is re-applied)
    for statement in statements(NEXT):
        op.execute(statement)
    # A small log is copied and swapped here; a big one by `shoptrail-activity migrate-log`.
    rows = bind.scalar(text(log_migration.ROWS_UP_TO), {"n": log_migration.INLINE_COPY_LIMIT + 1})
    if rows <= log_migration.INLINE_COPY_LIMIT:
        after: int | None = 0
        while after is not None:
            batch = {"after": after, "n": 10_000}
            after = bind.execute(text(log_migration.COPY_BATCH), batch).one().last
        for statement in log_migration.swap_statements(drop_old=True):
            bind.execute(text(statement))
    else:
        print(log_migration.PENDING_NOTICE.format(rows=rows))


def downgrade() -> None:
    if op.get_bind().scalar(text(log_migration.IS_PARTITIONED)):
        raise RuntimeError(
            "activity_log is partitioned: going back to one table is not supported "
            "(restore a backup taken before 0012)"
        )
    for statement in statements(DOWNGRADE):
        op.execute(statement)
