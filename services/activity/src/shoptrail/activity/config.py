"""Settings for activity, read from `ACTIVITY_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shoptrail.events.topics import EVENT_TOPIC_PATTERN
from shoptrail.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the activity service."""

    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8002
    database_url: str = "postgresql+asyncpg://shoptrail:shoptrail@127.0.0.1:5433/shoptrail"
    migrate_on_start: bool = True

    consume: bool = Field(default=True, description="Run the log consumer in this process.")
    topic_pattern: str = EVENT_TOPIC_PATTERN
    group_id: str = "shoptrail-activity"
    batch_max_records: int = Field(default=500, ge=1)
    batch_timeout_ms: int = Field(default=100, ge=1)
    metadata_max_age_ms: int = Field(
        default=30_000, description="How soon a new producer's topic is picked up."
    )

    retention_days: int = Field(default=90, ge=1)
    prune_hour_utc: int = Field(default=3, ge=0, le=23)
