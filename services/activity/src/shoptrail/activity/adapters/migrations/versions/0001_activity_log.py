"""The activity log, its counters and the order read model.

Revision ID: 0001
Revises:
"""

from alembic import op

from shoptrail.activity.adapters.sqlscript import statements

revision = "0001"
down_revision = None

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE activity_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    source          text NOT NULL,
    category        text NOT NULL
        CHECK (category IN ('orders', 'fulfilment', 'emails', 'syncs', 'carts', 'system')),
    level           text NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    order_id        text,
    message         text NOT NULL,
    payload         jsonb NOT NULL,
    correlation_id  text,
    occurred_at     timestamptz NOT NULL,
    inserted_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolution      text CHECK (resolution IN ('resolved', 'dismissed', 'auto')),
    resolution_note text
);

-- One order's timeline, oldest first.
CREATE INDEX activity_log_timeline ON activity_log (order_id, occurred_at, id)
    WHERE order_id IS NOT NULL;
-- The feed, newest first, keyset-paginated; debug facts are hidden by default.
CREATE INDEX activity_log_feed ON activity_log (occurred_at DESC, id DESC)
    WHERE level <> 'debug';
CREATE INDEX activity_log_feed_with_debug ON activity_log (occurred_at DESC, id DESC);
-- "Needs attention": unresolved warnings and errors only.
CREATE INDEX activity_log_attention ON activity_log (occurred_at DESC, id DESC)
    WHERE level IN ('warning', 'error') AND resolved_at IS NULL;
CREATE INDEX activity_log_category ON activity_log (category, occurred_at DESC, id DESC);
CREATE INDEX activity_log_level ON activity_log (level, occurred_at DESC, id DESC);
-- Substring search over messages (emails, order numbers, tracking numbers).
CREATE INDEX activity_log_search ON activity_log USING gin (message gin_trgm_ops);
-- Pruning by age.
CREATE INDEX activity_log_inserted ON activity_log (inserted_at);

-- Counts per (category, level, open) kept by statement triggers, so tab
-- totals and the badge are O(1) however large the log grows.
CREATE TABLE activity_counts (
    category text NOT NULL,
    level    text NOT NULL,
    open     boolean NOT NULL,
    n        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (category, level, open)
);

CREATE FUNCTION activity_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION activity_counts_attach(log_table regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER activity_counts_ins AFTER INSERT ON %s
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION activity_counts_apply()', log_table);
    EXECUTE format('CREATE TRIGGER activity_counts_upd AFTER UPDATE ON %s
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION activity_counts_apply()', log_table);
    EXECUTE format('CREATE TRIGGER activity_counts_del AFTER DELETE ON %s
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION activity_counts_apply()', log_table);
END
$$;

SELECT activity_counts_attach('activity_log');

-- The order read model, projected from order.* events.
CREATE TABLE orders (
    order_id          text PRIMARY KEY,
    order_number      text,
    customer_email    text,
    total_amount      bigint,
    currency          text,
    line_items        jsonb,
    shipping_address  jsonb,
    status            text NOT NULL,
    status_at         timestamptz NOT NULL,
    provider          text,
    provider_order_id text,
    carrier           text,
    tracking_number   text,
    tracking_url      text,
    refunded_amount   bigint NOT NULL DEFAULT 0,
    created_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_newest ON orders (created_at DESC NULLS LAST, order_id DESC);
CREATE INDEX orders_number ON orders (order_number);
"""

DOWNGRADE = """
DROP TABLE orders;
DROP TABLE activity_log;
DROP FUNCTION activity_counts_attach(regclass);
DROP FUNCTION activity_counts_apply();
DROP TABLE activity_counts;
"""


def upgrade() -> None:
    for statement in statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(DOWNGRADE):
        op.execute(statement)
