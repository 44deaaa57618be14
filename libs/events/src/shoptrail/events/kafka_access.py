"""How every Shoptrail process reaches Kafka: where it is and, on a guarded bus, who we are.

The bus is a trust boundary (see `acl.py`): each service signs in with its
own SASL/SCRAM user and may write only its own topics. Every Kafka client in
the code base — producers, FastStream brokers, admin clients, the lag
sampler, replay's reader, the operator's tools — takes its connection options
from `kafka_client_options()`, so a setting added here reaches all of them,
and none can forget the credentials.

The password is a `SecretStr`: `repr()`, logs and tracebacks of a
`KafkaAccess` show `**********`; only `kafka_client_options()` reveals it,
into the dict it hands straight to the client.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
"""Services use SCRAM; PLAIN is the operator's (checked against the broker's own config)."""

DEFAULT_MECHANISM: SaslMechanism = "SCRAM-SHA-512"

OPERATOR_ENV_PREFIX = "SHOPTRAIL_KAFKA_"
"""The operator's tools (`shoptrail-dlq`, topic creation) read `SHOPTRAIL_KAFKA_BOOTSTRAP`,
`SHOPTRAIL_KAFKA_USERNAME`, `SHOPTRAIL_KAFKA_PASSWORD` …; services read their own prefix."""


@dataclass(frozen=True)
class KafkaAccess:
    """Where Kafka is and who we are to it (no username: an unauthenticated PLAINTEXT bus)."""

    bootstrap: str
    """`host:port`, or a cluster's brokers comma-separated (`a:9092,b:9092`)."""
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    mechanism: SaslMechanism = DEFAULT_MECHANISM
    security_protocol: SecurityProtocol | None = None
    """Default: SASL_PLAINTEXT with a username, PLAINTEXT without."""

    def __post_init__(self) -> None:
        if self.username and self.password is None:
            raise ValueError(f"Kafka user {self.username!r} has no password")
        if self.protocol != "PLAINTEXT" and not self.username:
            raise ValueError(f"Kafka security protocol {self.protocol} needs a username")

    @property
    def protocol(self) -> SecurityProtocol:
        """The security protocol spoken to the brokers."""
        if self.security_protocol is not None:
            return self.security_protocol
        return "SASL_PLAINTEXT" if self.username else "PLAINTEXT"

    @property
    def servers(self) -> list[str]:
        """`bootstrap` as a list, as every client takes it (FastStream would take a
        comma-separated string for one host)."""
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]

    @property
    def authenticated(self) -> bool:
        return self.protocol != "PLAINTEXT"

    @classmethod
    def from_env(
        cls, prefix: str = OPERATOR_ENV_PREFIX, environ: Mapping[str, str] | None = None
    ) -> KafkaAccess:
        """`<prefix>BOOTSTRAP`, `USERNAME`, `PASSWORD`, `SASL_MECHANISM`, `SECURITY_PROTOCOL`."""
        env = os.environ if environ is None else environ
        password = env.get(prefix + "PASSWORD")
        return cls(
            bootstrap=env.get(prefix + "BOOTSTRAP", "127.0.0.1:9092"),
            username=env.get(prefix + "USERNAME") or None,
            password=SecretStr(password) if password else None,
            mechanism=env.get(prefix + "SASL_MECHANISM", DEFAULT_MECHANISM),  # type: ignore[arg-type]
            security_protocol=env.get(prefix + "SECURITY_PROTOCOL") or None,  # type: ignore[arg-type]
        )


def as_access(kafka: KafkaAccess | str) -> KafkaAccess:
    """A bare `host:port` string means an unauthenticated bus (the plain local stack, tests)."""
    return kafka if isinstance(kafka, KafkaAccess) else KafkaAccess(bootstrap=kafka)


def kafka_client_options(kafka: KafkaAccess | str) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin) to reach `kafka`."""
    access = as_access(kafka)
    options: dict[str, Any] = {
        "bootstrap_servers": access.servers,
        "security_protocol": access.protocol,
    }
    if access.authenticated:
        assert access.password is not None  # checked in __post_init__
        options |= {
            "sasl_mechanism": access.mechanism,
            "sasl_plain_username": access.username,
            "sasl_plain_password": access.password.get_secret_value(),
        }
    if access.protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context()
    return options


def faststream_security(kafka: KafkaAccess | str) -> BaseSecurity | None:
    """The same access as FastStream's `security=` object (its broker builds its own clients)."""
    access = as_access(kafka)
    if not access.authenticated:
        return None
    assert access.username is not None and access.password is not None
    kinds: dict[str, type[SASLScram512 | SASLScram256 | SASLPlaintext]] = {
        "SCRAM-SHA-512": SASLScram512,
        "SCRAM-SHA-256": SASLScram256,
        "PLAIN": SASLPlaintext,
    }
    use_ssl = access.protocol == "SASL_SSL"
    return kinds[access.mechanism](
        access.username,
        access.password.get_secret_value(),
        ssl_context=ssl.create_default_context() if use_ssl else None,
        use_ssl=use_ssl,
    )
