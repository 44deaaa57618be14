"""Admin sessions: revocable, with an absolute lifetime and an idle timeout.

The admin UI keeps only a random session id in its cookie; this table says
whether that id still opens anything. The id itself is never stored: rows
are keyed by its SHA-256, so a copy of the table opens no session.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE admin_sessions (
            id_hash bytea PRIMARY KEY,
            username text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            idle_timeout_s integer NOT NULL,
            revoked_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE admin_sessions")
