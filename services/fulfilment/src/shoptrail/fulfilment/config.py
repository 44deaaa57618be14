"""Settings for fulfilment, read from `FULFILMENT_*` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url

from shoptrail.events import topics
from shoptrail.kit.settings import PLACEHOLDER_MARK, ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the fulfilment service."""

    model_config = SettingsConfigDict(env_prefix="FULFILMENT_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8003
    database_url: str = "postgresql+asyncpg://shoptrail:shoptrail@127.0.0.1:5433/shoptrail"

    ingest_topic: str = topics.INGEST
    fulfilment_topic: str = topics.FULFILMENT
    consumer_group: str = "fulfilment"

    printify_base_url: str = "https://api.printify.com"
    printify_shop_id: str = "0"
    printify_token: SecretStr = SecretStr(f"{PLACEHOLDER_MARK}-printify-token")
    printful_base_url: str = "https://api.printful.com"
    printful_token: SecretStr = SecretStr(f"{PLACEHOLDER_MARK}-printful-token")
    provider_timeout_s: float = Field(default=30.0, gt=0)

    max_submission_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=30.0, ge=0, description="First retry delay; doubles.")
    retry_backoff_max_s: float = Field(default=1800.0, ge=0)
    operator_retry_s: float = Field(
        default=300.0,
        gt=0,
        description="While only the operator can fix a provider problem (a refused token), "
        "waiting jobs try again at most this far apart, for as long as it takes.",
    )

    poll_cron: str = Field(default="*/30 * * * *", description="Status poll of in-flight orders.")
    sync_cron: str = Field(default="0 3 * * *", description="Periodic product sync.")
    stalled_check_cron: str = Field(default="* * * * *", description="Stalled-job recovery.")
    stalled_after_s: float = Field(default=60.0, gt=0, description="No worker heartbeat for.")
    worker_heartbeat_s: float = Field(default=10.0, gt=0)
    worker_concurrency: int = Field(default=4, ge=1)
    job_poll_interval_s: float = Field(default=5.0, gt=0)
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
