"""Settings for activity, read from `ACTIVITY_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shoptrail.events import topics
from shoptrail.events.catalog import CONSUMERS
from shoptrail.events.topics import EVENT_TOPIC_PATTERN
from shoptrail.kit.runtime import DEFAULT_GEN0_THRESHOLD
from shoptrail.kit.settings import PLACEHOLDER_MARK, ServiceSettings, SigningSecret


class Settings(ServiceSettings):
    """Configuration of the activity service."""

    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(
        default=8002, description="Port of the API, the live WebSocket, `/healthz`, `/metrics`."
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Addresses or CIDR ranges of the reverse proxy: X-Forwarded-For/-Proto "
        "are believed from these alone (`*`: from anyone).",
    )
    database_url: str = Field(
        default="postgresql+asyncpg://shoptrail:shoptrail@127.0.0.1:5433/shoptrail",
        description="Its own PostgreSQL database (SQLAlchemy URL, asyncpg driver).",
    )
    migrate_on_start: bool = Field(
        default=True,
        description="Apply migrations when `serve` starts (compose: false, a job migrates).",
    )

    consume: bool = Field(default=True, description="Run the log consumer in this process.")
    topic_pattern: str = Field(
        default=EVENT_TOPIC_PATTERN,
        description="Topics consumed (and replayed): every producer's, never a `.dlq`.",
    )
    notes_topic: str = Field(
        default=topics.ACTIVITY,
        description="Where staff notes are published (as `order.note_added`) and read back from.",
    )
    notes_publish_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="How long adding a note waits for Kafka's acknowledgement before a 503.",
    )
    group_id: str = Field(
        default=CONSUMERS["activity"].group,
        description="Kafka consumer group (its ACL is granted to this name only).",
    )
    batch_max_records: int = Field(
        default=20_000,
        ge=1,
        description="Records per consumer batch (one offset commit per batch).",
    )
    write_lanes: int = Field(
        default=2, ge=1, description="Concurrent log writers (connections) per consumer."
    )
    partition_fetch_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Most bytes fetched per partition at once: lets a backlog fill a batch.",
    )
    batch_timeout_ms: int = Field(
        default=100, ge=1, description="Longest wait to fill a consumer batch."
    )
    session_timeout_ms: int = Field(
        default=10_000,
        ge=6_000,
        description="How soon a consumer that stopped answering (killed) loses its partitions.",
    )
    retry_backoff_max_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Longest wait between retries of a batch the database could not take.",
    )
    metadata_max_age_ms: int = Field(
        default=30_000, description="How soon a new producer's topic is picked up."
    )

    gc_gen0_threshold: int = Field(
        default=DEFAULT_GEN0_THRESHOLD,
        ge=0,
        description="Young-generation threshold of the cycle collector (0: CPython's default).",
    )

    retention_days: int = Field(
        default=90,
        ge=1,
        description="Entries older than this are pruned, by whole months (open problems stay).",
    )
    prune_hour_utc: int = Field(
        default=3, ge=0, le=23, description="Hour (UTC) of the nightly prune."
    )

    ws_token_secret: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-ws-token-secret"),
        description="Signs the short-lived tokens browsers open the live WebSocket with.",
    )
    ws_token_ttl_seconds: int = Field(
        default=300, ge=1, description="How long a WebSocket token may be used to connect."
    )
    ws_allowed_origins: str = Field(
        default="http://127.0.0.1:8000,http://localhost:8000",
        description="Comma-separated browser origins allowed to open the live WebSocket.",
    )
    ws_public_url: str | None = Field(
        default=None,
        description="The WebSocket URL browsers use: `/ws` on the admin's own origin behind "
        "the proxy (a path is resolved against the page), or absolute (default: ws://host:port/ws).",
    )
    ws_frame_ms: int = Field(
        default=50, ge=1, description="At most one live frame per this many ms (coalescing)."
    )
    ws_catch_up_limit: int = Field(
        default=500, description="Missed entries replayed on reconnect; beyond it: reload."
    )
    ws_max_message_bytes: int = Field(
        default=4096, description="Largest message a browser may send; larger closes the socket."
    )
    ws_implementation: Literal["websockets", "websockets-sansio"] = Field(
        default="websockets-sansio", description="uvicorn's WebSocket implementation."
    )
    ws_compression: bool = Field(
        default=False, description="permessage-deflate: fewer bytes, more memory and CPU."
    )
    ws_max_sockets_per_session: int = Field(
        default=10, ge=1, description="Live sockets one admin session may hold on a replica."
    )
    ws_messages_per_second: float = Field(
        default=2.0, description="Messages per second a browser may send (token bucket rate)."
    )
    ws_burst: int = Field(
        default=10, description="Messages a browser may send at once (token bucket size)."
    )

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(o.strip() for o in self.ws_allowed_origins.split(",") if o.strip())

    @property
    def live_url(self) -> str:
        return self.ws_public_url or f"ws://{self.host}:{self.port}/ws"
