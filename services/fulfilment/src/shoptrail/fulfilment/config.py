"""Settings for fulfilment, read from `FULFILMENT_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shoptrail.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the fulfilment service."""

    model_config = SettingsConfigDict(env_prefix="FULFILMENT_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8003
