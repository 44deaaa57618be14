"""Each entry remembers the trace its event was made in.

The operator follows an entry to its whole story in a trace viewer: the
order's webhook, the consumers, the jobs, the provider calls and emails are
one OpenTelemetry trace. Nullable with no default, so adding it rewrites
nothing; entries logged before it (and events made with tracing disabled)
have none.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE activity_log ADD COLUMN trace_id text")


def downgrade() -> None:
    op.execute("ALTER TABLE activity_log DROP COLUMN trace_id")
