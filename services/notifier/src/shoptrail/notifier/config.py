"""Settings for notifier, read from `NOTIFIER_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shoptrail.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the notifier service."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8004
