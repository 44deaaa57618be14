"""Writers that never queue on one lock or one row: changes numbered after commit, counts as deltas.

Until now every transaction that wrote the log ended in `activity_record_change`,
which took one global advisory lock held until commit (so change numbers followed
commit order) and NOTIFYed (PostgreSQL serialises every committing NOTIFY on one
cluster-wide lock too); its statement triggers added to shared `activity_counts`
rows, which every writer updated. Writers on every replica queued on those.

Changes. A writer inserts its change with no number (`seq` NULL) and nothing else.
`activity_number_changes()`, the sequencer, numbers the committed un-numbered
changes in id order under its own advisory lock (held by sequencers only, never
by a writer) and NOTIFYs the new high mark. Sequencer transactions run one at a
time, so numbers still become visible in order: a reader that saw change N has
seen every change before it. Readers see numbered changes only. Each replica's
hub runs the sequencer after its own writes commit and on a timer; the read
endpoints run it before reading, so a change committed before a read is in it.

Counts. The triggers insert delta rows (`activity_count_deltas`, no key, so no
row two writers wait for); `activity_counts` is now a view, the folded totals
plus the deltas, exact in every snapshot. `activity_fold_counts()` moves deltas
into the totals under a try-lock (whichever replica gets it; the others skip).
`activity_counts_reset(log)` recounts from a log table (a replay's swap).

The attach-by-table-name functions are unchanged (`activity_counts_attach(log)`),
so a partition or a rebuild table attaches the same triggers.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from shoptrail.activity.adapters.sqlscript import statements

revision = "0011"
down_revision = "0010"

UPGRADE = """
ALTER TABLE activity_changes DROP CONSTRAINT activity_changes_pkey;
ALTER TABLE activity_changes ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE activity_changes ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE activity_changes ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX activity_changes_seq ON activity_changes (seq);
-- What the sequencer has still to number: usually nothing, so asking is one index probe.
CREATE INDEX activity_changes_pending ON activity_changes (id) WHERE seq IS NULL;

-- Call last in a transaction that changed the log: the change, un-numbered. No lock,
-- no NOTIFY (a committing NOTIFY takes a cluster-wide lock). Returns the change's id.
CREATE OR REPLACE FUNCTION activity_record_change(change_kind text, ids bigint[], inserted integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    change_id bigint;
BEGIN
    INSERT INTO activity_changes (kind, entry_ids, inserted)
    VALUES ($1, $2, $3) RETURNING id INTO change_id;
    RETURN change_id;
END
$$;

-- The sequencer: number the committed changes nobody has numbered yet; returns the
-- high mark. Its own transaction, committed at once (never inside a writer's): the
-- lock is held until that commit, so sequencers commit their numbers in order.
CREATE FUNCTION activity_number_changes() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    numbered bigint := 0;
    high bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM activity_changes WHERE seq IS NULL) THEN
        PERFORM pg_advisory_xact_lock(hashtext('shoptrail-activity-sequencer'));
        -- A new snapshot after the lock: it sees what the previous sequencer committed.
        WITH pending AS MATERIALIZED (
            SELECT id FROM activity_changes WHERE seq IS NULL ORDER BY id
        ), numbers AS MATERIALIZED (
            SELECT id, nextval('activity_change_seq') AS seq FROM pending
        )
        UPDATE activity_changes c SET seq = numbers.seq FROM numbers WHERE c.id = numbers.id;
        GET DIAGNOSTICS numbered = ROW_COUNT;
    END IF;
    SELECT coalesce(max(seq), 0) INTO high FROM activity_changes;
    IF numbered > 0 THEN
        PERFORM pg_notify('activity_changes', high::text);
    END IF;
    RETURN high;
END
$$;

ALTER TABLE activity_counts RENAME TO activity_counts_folded;
ALTER INDEX activity_counts_pkey RENAME TO activity_counts_folded_pkey;

CREATE TABLE activity_count_deltas (
    category text NOT NULL,
    level    text NOT NULL,
    open     boolean NOT NULL,
    n        bigint NOT NULL
);

CREATE VIEW activity_counts AS
SELECT category, level, open, sum(n)::bigint AS n
FROM (
    SELECT category, level, open, n FROM activity_counts_folded
    UNION ALL
    SELECT category, level, open, n FROM activity_count_deltas
) c
GROUP BY category, level, open;

CREATE OR REPLACE FUNCTION activity_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO activity_count_deltas (category, level, open, n)
        SELECT category, level, resolved_at IS NULL, count(*) FROM new_rows GROUP BY 1, 2, 3;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO activity_count_deltas (category, level, open, n)
        SELECT category, level, resolved_at IS NULL, -count(*) FROM old_rows GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$;

-- Deltas into the totals, in one transaction (readers see before or after, both exact).
-- Whoever holds the try-lock folds; the others return at once. Returns the rows folded.
CREATE FUNCTION activity_fold_counts() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('shoptrail-activity-counts-fold')) THEN
        RETURN 0;
    END IF;
    WITH moved AS (
        DELETE FROM activity_count_deltas RETURNING category, level, open, n
    ), summed AS (
        INSERT INTO activity_counts_folded AS c (category, level, open, n)
        SELECT category, level, open, sum(n) FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (category, level, open) DO UPDATE SET n = c.n + EXCLUDED.n
    )
    SELECT count(*) INTO folded FROM moved;
    RETURN folded;
END
$$;

-- The counts made again from a log table (a replay's swap, with writers held off).
CREATE FUNCTION activity_counts_reset(log_table regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shoptrail-activity-counts-fold'));
    DELETE FROM activity_count_deltas;
    DELETE FROM activity_counts_folded;
    EXECUTE format('INSERT INTO activity_counts_folded (category, level, open, n)
        SELECT category, level, resolved_at IS NULL, count(*) FROM %s GROUP BY 1, 2, 3',
        log_table);
END
$$;
"""

DOWNGRADE = """
DROP FUNCTION activity_counts_reset(regclass);
SELECT activity_fold_counts();
DROP FUNCTION activity_fold_counts();
DROP VIEW activity_counts;
DROP TABLE activity_count_deltas;
ALTER TABLE activity_counts_folded RENAME TO activity_counts;
ALTER INDEX activity_counts_folded_pkey RENAME TO activity_counts_pkey;

CREATE OR REPLACE FUNCTION activity_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO activity_counts AS c (category, level, open, n)
        SELECT category, level, resolved_at IS NULL, count(*)
        FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (category, level, open) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO activity_counts AS c (category, level, open, n)
        SELECT category, level, resolved_at IS NULL, -count(*)
        FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (category, level, open) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

SELECT activity_number_changes();
DROP FUNCTION activity_number_changes();

CREATE OR REPLACE FUNCTION activity_record_change(change_kind text, ids bigint[], inserted integer)
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

DROP INDEX activity_changes_pending;
DROP INDEX activity_changes_seq;
ALTER TABLE activity_changes DROP CONSTRAINT activity_changes_pkey;
ALTER TABLE activity_changes DROP COLUMN id;
ALTER TABLE activity_changes ALTER COLUMN seq SET NOT NULL;
ALTER TABLE activity_changes ADD PRIMARY KEY (seq);
"""


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(DOWNGRADE):
        op.execute(statement)
