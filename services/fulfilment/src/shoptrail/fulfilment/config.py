"""Settings for fulfilment, read from `FULFILMENT_*` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url

from shoptrail.events import topics
from shoptrail.events.catalog import CONSUMERS
from shoptrail.kit.settings import PLACEHOLDER_MARK, ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the fulfilment service."""

    model_config = SettingsConfigDict(env_prefix="FULFILMENT_", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(
        default=8003, description="Port of `serve`: actions API, `/healthz`, `/metrics`."
    )
    database_url: str = Field(
        default="postgresql+asyncpg://shoptrail:shoptrail@127.0.0.1:5433/shoptrail",
        description="Its own PostgreSQL database: tables, outbox and the job queue.",
    )

    ingest_topic: str = Field(default=topics.INGEST, description="Topic of paid orders.")
    fulfilment_topic: str = Field(
        default=topics.FULFILMENT, description="Its own topic (the outbox relays to it)."
    )
    consumer_group: str = Field(
        default=CONSUMERS["fulfilment"].group,
        description="Kafka consumer group (its ACL is granted to this name only).",
    )

    printify_base_url: str = Field(
        default="https://api.printify.com", description="Printify's API (`make dev`: the fake)."
    )
    printify_shop_id: str = Field(default="0", description="The shop's id at Printify.")
    printify_token: SecretStr = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-printify-token"),
        description="Printify API token.",
    )
    printful_base_url: str = Field(
        default="https://api.printful.com", description="Printful's API (`make dev`: the fake)."
    )
    printful_token: SecretStr = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-printful-token"),
        description="Printful API token.",
    )
    provider_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for one provider API call."
    )

    max_submission_attempts: int = Field(
        default=3, ge=1, description="Submissions tried before `job.exhausted` (needs attention)."
    )
    retry_backoff_s: float = Field(default=30.0, ge=0, description="First retry delay; doubles.")
    retry_backoff_max_s: float = Field(
        default=1800.0, ge=0, description="Longest delay between submission retries."
    )
    operator_retry_s: float = Field(
        default=300.0,
        gt=0,
        description="While only the operator can fix a provider problem (a refused token), "
        "waiting jobs try again at most this far apart, for as long as it takes.",
    )

    poll_cron: str = Field(default="*/30 * * * *", description="Status poll of in-flight orders.")
    sync_cron: str = Field(default="0 3 * * *", description="Periodic product sync.")
    stalled_check_cron: str = Field(default="* * * * *", description="Stalled-job recovery.")
    stalled_after_s: float = Field(
        default=60.0,
        gt=0,
        description="A worker silent (no heartbeat) this long has died: its jobs are retried.",
    )
    worker_heartbeat_s: float = Field(
        default=10.0, gt=0, description="How often a worker says it is alive."
    )
    worker_concurrency: int = Field(default=4, ge=1, description="Jobs one worker runs at once.")
    job_poll_interval_s: float = Field(
        default=5.0, gt=0, description="How often a worker looks for jobs it was not woken for."
    )
    worker_port: int = Field(
        default=8013, ge=0, le=65535, description="The worker's /healthz, /readyz, /metrics."
    )
    worker_db_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="The worker waits this long for a database connection, then restarts.",
    )

    @property
    def psycopg_conninfo(self) -> str:
        """The database URL in libpq form, for procrastinate's psycopg connector."""
        url = make_url(self.database_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)
