"""Settings for admin-ui, read from `ADMIN_UI_*` environment variables."""

from __future__ import annotations

import re
from typing import Annotated, Any, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shoptrail.kit.settings import PLACEHOLDER_MARK, ServiceSettings, SigningSecret

DEV_PASSWORD = f"{PLACEHOLDER_MARK}-password"
"""The dev account's password (user `admin`): fine on a laptop, refused in prod."""

# The dev placeholder's hash (public on purpose, refused in prod).
DEV_PASSWORD_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$pqswbypxyLYC35BMHDZalw$"  # noqa: S105
    "Tk+MH2uJNODZee/WSdnl86vbAN5UASa4CHevfMysdik"
)

# An argon2 hash holds commas (`m=65536,t=3,p=4`), so accounts are split only on the
# commas that start a new `name:$argon2` pair.
_ACCOUNT_SEPARATOR = re.compile(r",\s*(?=[^,:$\s]+:\$argon2)")


class AdminAccount(BaseModel):
    """One person who may sign in: a user name and an argon2 hash of their password."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    password_hash: SecretStr

    @field_validator("password_hash")
    @classmethod
    def _argon2_only(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("$argon2"):
            raise ValueError("an argon2 hash (make one with `shoptrail-admin-ui hash-password`)")
        return value


def parse_accounts(value: str) -> tuple[AdminAccount, ...]:
    """`"alice:$argon2id$…,bob:$argon2id$…"` → accounts."""
    accounts = []
    for part in _ACCOUNT_SEPARATOR.split(value.strip()):
        username, sep, password_hash = part.strip().partition(":")
        if not sep:
            raise ValueError("each admin is `name:<argon2 hash>`")
        accounts.append(AdminAccount(username=username, password_hash=SecretStr(password_hash)))
    return tuple(accounts)


class Settings(ServiceSettings):
    """Configuration of the admin-ui service."""

    model_config = SettingsConfigDict(env_prefix="ADMIN_UI_", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(default=8000, description="Port of the admin, `/healthz`, `/metrics`.")
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Addresses or CIDR ranges of the reverse proxy: the client address and "
        "scheme (X-Forwarded-For/-Proto) are believed from these alone (`*`: from anyone).",
    )

    admins: Annotated[tuple[AdminAccount, ...], NoDecode, Field(min_length=1)] = Field(
        default=(AdminAccount(username="admin", password_hash=SecretStr(DEV_PASSWORD_HASH)),),
        description=(
            "Who may sign in: comma-separated `name:<argon2 hash>` from "
            "`shoptrail-admin-ui hash-password NAME`. Default: the dev account `admin` / "
            "`dev-only-password`, refused in prod."
        ),
    )
    session_secret: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-session-secret"),
        description="Signs the session cookie.",
    )
    session_max_age_s: int = Field(default=8 * 3600, gt=0, description="Idle time before logout.")
    session_lifetime_s: int = Field(
        default=24 * 3600, gt=0, description="Absolute lifetime of a session, however busy."
    )
    secure_cookies: bool | None = Field(
        default=None, description="Send cookies over HTTPS only (default: only in prod)."
    )
    timezone: str = Field(default="Europe/London", description="The shop owner's clock.")
    login_free_tries: int = Field(
        default=5, ge=1, description="Wrong passwords per name or address before waits begin."
    )
    login_max_user_delay_s: float = Field(
        default=30.0, gt=0, description="Longest wait a user name can be made to impose."
    )
    login_max_address_delay_s: float = Field(
        default=900.0, gt=0, description="Longest wait imposed on one client address."
    )

    activity_url: str = Field(
        default="http://127.0.0.1:8002", description="The activity service's API."
    )
    activity_token: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-service-token"),
        description="activity's `ACTIVITY_SERVICE_TOKEN`.",
    )
    activity_ws_origin: str | None = Field(
        default=None,
        description="Where browsers reach the activity WebSocket, for the CSP: `self` when a "
        "proxy serves it on the admin's own origin, else `ws(s)://host:port` "
        "(default: from activity_url).",
    )
    fulfilment_url: str = Field(
        default="http://127.0.0.1:8003", description="The fulfilment service's API (retries)."
    )
    fulfilment_token: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-service-token"),
        description="fulfilment's `FULFILMENT_SERVICE_TOKEN`.",
    )
    notifier_url: str = Field(
        default="http://127.0.0.1:8004", description="The notifier service's API (settings)."
    )
    notifier_token: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-service-token"),
        description="notifier's `NOTIFIER_SERVICE_TOKEN`.",
    )
    upstream_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait for activity, fulfilment or notifier."
    )
    printify_shop_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The shop's id at Printify (as fulfilment's `FULFILMENT_PRINTIFY_SHOP_ID`): "
        "entry details link Printify orders to its dashboard. Unset: no Printify link.",
    )
    trace_url: str | None = Field(
        default=None,
        description="Link each timeline entry to the operator's trace viewer: an http(s) URL "
        "with `{trace_id}` in it (Jaeger: `https://jaeger.example/trace/{trace_id}`). "
        "Unset: the trace id is shown as text.",
    )

    @field_validator("admins", mode="before")
    @classmethod
    def _admins_from_text(cls, value: Any) -> Any:
        return parse_accounts(value) if isinstance(value, str) else value

    @field_validator("trace_url")
    @classmethod
    def _trace_url_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        if urlsplit(value).scheme not in ("http", "https") or "{trace_id}" not in value:
            raise ValueError("an http(s) URL with `{trace_id}` where the trace id goes")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def _no_dev_account_in_prod(self) -> Self:
        from shoptrail.admin_ui.auth.passwords import verify_password
        from shoptrail.admin_ui.auth.strength import WORST

        if self.environment == "prod":
            dev = [
                a.username for a in self.admins if verify_password(a.password_hash, DEV_PASSWORD)
            ]
            if dev:
                raise ValueError(f"the dev placeholder password is not allowed in prod: {dev}")
            weak = [
                a.username
                for a in self.admins
                if any(verify_password(a.password_hash, common) for common in WORST)
            ]
            if weak:
                raise ValueError(
                    f"these admins have one of the most common passwords: {weak} "
                    "(make a new hash with `shoptrail-admin-ui hash-password`)"
                )
        return self

    @property
    def cookies_secure(self) -> bool:
        return self.environment == "prod" if self.secure_cookies is None else self.secure_cookies

    @property
    def ws_origin(self) -> str:
        """The origin (`ws://host:port`) the browser's WebSocket connects to, for the CSP;
        "" when it is the admin's own (`self`), which `connect-src 'self'` already allows."""
        if self.activity_ws_origin == "self":
            return ""
        if self.activity_ws_origin:
            return self.activity_ws_origin.rstrip("/")
        parts = urlsplit(self.activity_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
