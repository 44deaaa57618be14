"""Settings for notifier, read from `NOTIFIER_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of the notifier service."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", frozen=True)

    environment: Literal["dev", "test", "prod"] = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    host: str = "127.0.0.1"
    port: int = 8004
