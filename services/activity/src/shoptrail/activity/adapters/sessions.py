"""Admin sessions in PostgreSQL: created at login, checked on every admin request, revocable.

A session is live while it is not revoked, not past its absolute `expires_at`
and seen within its idle timeout. Every activity replica reads the same rows,
so a logout on one is seen by all (the live sockets' watch polls them).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_LIVE = (
    "revoked_at IS NULL AND now() < expires_at"
    " AND now() < last_seen_at + make_interval(secs => idle_timeout_s)"
)


def session_hash(session_id: str) -> bytes:
    """What the table stores of a session id (never the id itself)."""
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True)
class SessionInfo:
    username: str
    expires_at: datetime


@dataclass
class SessionStore:
    engine: AsyncEngine

    async def create(self, username: str, *, lifetime_s: int, idle_s: int) -> tuple[str, datetime]:
        """A new session id for `username` (only ever returned here) and its absolute expiry."""
        session_id = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            # Rows a day past their end are of no use to anyone: tidy as we go.
            await conn.execute(
                text("DELETE FROM admin_sessions WHERE expires_at < now() - interval '1 day'")
            )
            expires_at = (
                await conn.execute(
                    text(
                        "INSERT INTO admin_sessions (id_hash, username, expires_at, idle_timeout_s)"
                        " VALUES (:h, :u, now() + make_interval(secs => :life), :idle)"
                        " RETURNING expires_at"
                    ),
                    {
                        "h": session_hash(session_id),
                        "u": username,
                        "life": lifetime_s,
                        "idle": idle_s,
                    },
                )
            ).scalar_one()
        return session_id, expires_at

    async def seen(self, session_id: str) -> SessionInfo | None:
        """The live session's user, its idle clock restarted; None once it has ended."""
        return await self._one(
            f"UPDATE admin_sessions SET last_seen_at = now()"  # noqa: S608 - constant
            f" WHERE id_hash = :h AND {_LIVE} RETURNING username, expires_at",
            session_hash(session_id),
        )

    async def live(self, hashed: bytes) -> SessionInfo | None:
        """Is the session live? (Without restarting its idle clock: a socket is not a person.)"""
        return await self._one(
            f"SELECT username, expires_at FROM admin_sessions"  # noqa: S608 - constant
            f" WHERE id_hash = :h AND {_LIVE}",
            hashed,
        )

    async def _one(self, sql: str, hashed: bytes) -> SessionInfo | None:
        async with self.engine.begin() as conn:
            row = (await conn.execute(text(sql), {"h": hashed})).first()
        return SessionInfo(row.username, row.expires_at) if row else None

    async def revoke(self, session_id: str) -> bool:
        """End the session (idempotent); True if it was live."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                text(
                    f"UPDATE admin_sessions SET revoked_at = now()"  # noqa: S608 - constant
                    f" WHERE id_hash = :h AND {_LIVE}"
                ),
                {"h": session_hash(session_id)},
            )
        return bool(result.rowcount)

    async def ended_among(self, hashed: Iterable[bytes]) -> set[bytes]:
        """Which of these sessions no longer open anything (revoked, expired or idle)."""
        wanted = list(hashed)
        if not wanted:
            return set()
        async with self.engine.connect() as conn:
            alive = (
                await conn.execute(
                    text(
                        f"SELECT id_hash FROM admin_sessions"  # noqa: S608 - constant
                        f" WHERE id_hash = ANY(:hs) AND {_LIVE}"
                    ),
                    {"hs": wanted},
                )
            ).scalars()
            live = {bytes(h) for h in alive}
        return set(wanted) - live
