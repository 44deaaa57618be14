"""Settings for notifier, read from `NOTIFIER_*` environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shoptrail.events import topics
from shoptrail.kit.settings import PLACEHOLDER_MARK, ServiceSettings, SigningSecret

SmtpSecurity = Literal["none", "starttls", "tls"]


def default_state_dir() -> Path:
    """`$XDG_STATE_HOME/shoptrail-notifier`, else `~/.local/state/shoptrail-notifier`."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "shoptrail-notifier"


class Settings(ServiceSettings):
    """Configuration of the notifier service.

    Shop-owner choices (sender name and address, recovery on/off) are *not*
    here: they live in the notifier's database and are edited through the
    settings API.
    """

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8004
    public_base_url: str = Field(
        default="http://127.0.0.1:8004",
        description="Where customers reach this service (unsubscribe links). HTTPS in prod.",
    )
    database_url: str = "postgresql+asyncpg://shoptrail:shoptrail@127.0.0.1:5433/shoptrail"

    consumer_group: str = "notifier"
    ingest_topic: str = topics.INGEST
    fulfilment_topic: str = topics.FULFILMENT
    notifier_topic: str = topics.NOTIFIER

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: SmtpSecurity = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 30.0
    smtp_validate_certs: bool = True

    email_max_attempts: int = Field(default=8, ge=1)
    email_retry_wait_s: int = Field(
        default=2, ge=0, description="Exponential back-off base: 2, 4, 8… seconds."
    )
    email_stuck_after: timedelta = timedelta(minutes=15)
    held_probe_every: timedelta = Field(
        default=timedelta(minutes=5),
        description="While emails are held for the operator, how often one is tried again.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description=(
            "A folder that survives restarts, for the journal of messages the mail server "
            "accepted (it settles emails whose `sent` record a crash lost). Every worker "
            "must see the same folder: run one worker, or give them a shared volume."
        ),
    )

    recovery_delay: timedelta = timedelta(hours=1)
    cart_retention: timedelta = timedelta(days=30)
    unsubscribe_secret: SigningSecret = SecretStr(f"{PLACEHOLDER_MARK}-unsubscribe-secret")

    worker_port: int = Field(
        default=8014, ge=0, le=65535, description="The worker's /healthz, /readyz, /metrics."
    )
    worker_db_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="The worker waits this long for a database connection, then restarts.",
    )
    worker_heartbeat_s: float = Field(default=10.0, gt=0)
    stalled_after_s: float = Field(
        default=60.0, gt=0, description="No worker heartbeat for this long: its jobs are retried."
    )
