"""Settings for notifier, read from `NOTIFIER_*` environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shoptrail.events import topics
from shoptrail.events.catalog import CONSUMERS
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

    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(
        default=8004,
        description="Port of `serve`: settings API, unsubscribe pages, `/healthz`, `/metrics`.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8004",
        description="Where customers reach this service (unsubscribe links). HTTPS in prod.",
    )
    database_url: str = Field(
        default="postgresql+asyncpg://shoptrail:shoptrail@127.0.0.1:5433/shoptrail",
        description="Its own PostgreSQL database: tables, outbox and the job queue.",
    )

    consumer_group: str = Field(
        default=CONSUMERS["notifier"].group,
        description="Kafka consumer group (its ACL is granted to this name only).",
    )
    ingest_topic: str = Field(default=topics.INGEST, description="Topic of orders and carts.")
    fulfilment_topic: str = Field(
        default=topics.FULFILMENT, description="Topic of shipments (shipping emails)."
    )
    notifier_topic: str = Field(
        default=topics.NOTIFIER, description="Its own topic (the outbox relays to it)."
    )

    alerts_consumer_group: str = Field(
        default=CONSUMERS["notifier-alerts"].group,
        description="Kafka consumer group that watches every event for alerts to the owner.",
    )
    alerts_topic_pattern: str = Field(
        default=topics.EVENT_TOPIC_PATTERN,
        description="The topics the alerts consumer reads (every producer's event topic).",
    )
    activity_url: str = Field(
        default="http://127.0.0.1:8002",
        description="The activity service's API: it says which entries are still open.",
    )
    activity_token: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-service-token"),
        description="activity's `ACTIVITY_SERVICE_TOKEN`.",
    )
    admin_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where the owner opens the admin; alerts link to `/admin/entries/<id>`.",
    )
    alert_unlogged_max_age: timedelta = Field(
        default=timedelta(minutes=2),
        description="An event activity has not logged after this long is not alerted about.",
    )
    alert_max_event_age: timedelta = Field(
        default=timedelta(hours=1),
        description="Older events are history, not news: the alerts consumer skips them.",
    )
    alert_sender: str = Field(
        default="alerts@shoptrail.invalid",
        description="From address of the alert emails to the shop owner.",
    )
    alert_webhook_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for the alert webhook's answer."
    )

    smtp_host: str = Field(default="127.0.0.1", description="The mail server.")
    smtp_port: int = Field(default=1025, description="The mail server's port.")
    smtp_security: SmtpSecurity = Field(
        default="none", description="How the SMTP connection is protected."
    )
    smtp_username: str | None = Field(default=None, description="SMTP login, if it needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_timeout_s: float = Field(default=30.0, description="Longest wait for the mail server.")
    smtp_validate_certs: bool = Field(
        default=True, description="Check the mail server's TLS certificate."
    )

    email_max_attempts: int = Field(
        default=8, ge=1, description="Sends of one email tried before `job.exhausted`."
    )
    email_retry_wait_s: int = Field(
        default=2, ge=0, description="Exponential back-off base: 2, 4, 8… seconds."
    )
    email_stuck_after: timedelta = Field(
        default=timedelta(minutes=15),
        description="A send that never finished is reported `job.exhausted`, never resent.",
    )
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

    recovery_delay: timedelta = Field(
        default=timedelta(hours=1),
        description="From an abandoned cart to its recovery email (`make dev`: `PT10S`).",
    )
    cart_retention: timedelta = Field(
        default=timedelta(days=30), description="Abandoned carts are forgotten after this."
    )
    unsubscribe_secret: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-unsubscribe-secret"),
        description="Signs the unsubscribe links' tokens (HMAC).",
    )

    worker_port: int = Field(
        default=8014, ge=0, le=65535, description="The worker's /healthz, /readyz, /metrics."
    )
    worker_db_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="The worker waits this long for a database connection, then restarts.",
    )
    worker_heartbeat_s: float = Field(
        default=10.0, gt=0, description="How often a worker says it is alive."
    )
    stalled_after_s: float = Field(
        default=60.0, gt=0, description="No worker heartbeat for this long: its jobs are retried."
    )
