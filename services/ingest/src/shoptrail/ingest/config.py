"""Settings for ingest, read from `INGEST_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shoptrail.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the ingest service."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8001
