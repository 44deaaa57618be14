"""Settings for admin-ui, read from `ADMIN_UI_*` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shoptrail.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the admin-ui service."""

    model_config = SettingsConfigDict(env_prefix="ADMIN_UI_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
