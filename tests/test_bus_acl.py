"""The bus as a trust boundary, on a real guarded broker (`stack.py up kafka --auth`).

A stranger — no credentials, a wrong password, an unknown user, or a valid
user with no grants — cannot write at all; each service's user is refused
every topic and group `shoptrail.events.acl` does not grant it (ingest
cannot write `shoptrail.fulfilment`), and can do everything its job needs:
produce its own topic and the dead-letter topics of what it reads (idempotent,
acks=all, through `Producer`), consume in its own group and commit, read its
lag. The cases come from `bus_users()`, the same plan the broker was given,
so a new service or grant is tested without editing this file.

Every refused attempt is counted by kind and printed at the end of the module
(and kept in test-artifacts/acl.json): the closing note's "ACL attempts
refused".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from shoptrail.events import topics
from shoptrail.events.acl import OPERATOR_USER, bus_users, may
from shoptrail.events.catalog import CONSUMERS, PRODUCERS
from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options
from shoptrail.events.producer import Producer
from shoptrail.kit.lag import ConsumerLagSampler
from shoptrail.testing import free_port_block

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO / "deploy" / "local"))
import stack  # noqa: E402

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

SERVICES = tuple(bus_users())
BUS_TOPICS = tuple(t for base in PRODUCERS for t in (base, topics.dead_letter_topic(base)))
STRANGER = "stranger"

REFUSED: Counter[str] = Counter()
"""Refused attempts by kind, printed when the module ends."""


@dataclass(frozen=True)
class GuardedBus:
    bootstrap: str
    operator: KafkaAccess
    passwords: dict[str, str]

    def as_user(self, user: str, password: str | None = None) -> KafkaAccess:
        chosen = self.passwords[user] if password is None else password
        return KafkaAccess(self.bootstrap, user, SecretStr(chosen))


@pytest.fixture(scope="module")
def guarded_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardedBus]:
    """A private Kafka started by the launcher with `--auth`, plus one user with no grants."""
    base = free_port_block(3)
    env = {
        **os.environ,
        "SHOPTRAIL_LOCAL_DIR": str(tmp_path_factory.mktemp("guarded-bus")),
        "SHOPTRAIL_KAFKA_PORT": str(base),  # and base+1 for its controller
    }
    command = [sys.executable, str(REPO / "deploy" / "local" / "stack.py")]
    try:
        up = subprocess.run(
            [*command, "up", "kafka", "--auth", "--json"],
            env=env, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert up.returncode == 0, f"stack.py up --auth failed:\n{up.stderr}"
        print(up.stderr)  # the launcher's own account, with the time the users and ACLs took
        info = json.loads(up.stdout)
        paths = stack.Paths(
            state=Path(env["SHOPTRAIL_LOCAL_DIR"]),
            cache=stack.paths_from_env().cache,
            kafka_port=base,
            pg_port=0,
        )
        stranger_password = secrets.token_urlsafe(16)
        stack.apply_bus_access(paths, stack.java_command(paths), {STRANGER: stranger_password})
        passwords = {user: info[f"{user.upper()}_KAFKA_PASSWORD"] for user in SERVICES} | {
            STRANGER: stranger_password
        }
        operator = KafkaAccess(
            info["SHOPTRAIL_KAFKA_BOOTSTRAP"],
            info["SHOPTRAIL_KAFKA_USERNAME"],
            SecretStr(info["SHOPTRAIL_KAFKA_PASSWORD"]),
            mechanism="PLAIN",
        )
        assert operator.username == OPERATOR_USER
        yield GuardedBus(info["SHOPTRAIL_KAFKA_BOOTSTRAP"], operator, passwords)
    finally:
        subprocess.run([*command, "reset", "kafka"], env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
async def bus(guarded_bus: GuardedBus) -> GuardedBus:
    """The guarded bus with every event and dead-letter topic created (by the operator)."""
    admin = AIOKafkaAdminClient(**kafka_client_options(guarded_bus.operator))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.create_topics([NewTopic(t, 3, 1) for t in BUS_TOPICS if t not in existing])
    finally:
        await admin.close()
    return guarded_bus


@pytest.fixture(scope="module", autouse=True)
def refusals_reported(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the refused attempts by kind when the module ends; keep them in test-artifacts."""
    yield
    if not REFUSED:
        return
    lines = [f"ACL attempts refused: {sum(REFUSED.values())}"]
    lines += [f"  {count:4}  {kind}" for kind, count in sorted(REFUSED.items())]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + "\n".join(lines), flush=True)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "acl.json").write_text(json.dumps(dict(REFUSED), indent=2, sort_keys=True))


async def refused_write(kafka: KafkaAccess | str, topic: str) -> BaseException:
    """Try to write one record to `topic`; return what Kafka refused it with."""
    producer = AIOKafkaProducer(
        **kafka_client_options(kafka),
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=10_000,
    )
    try:
        async with asyncio.timeout(60):
            await producer.start()
            await producer.send_and_wait(topic, b'{"forged": true}')
    except (
        KafkaConnectionError,
        TopicAuthorizationFailedError,
        ClusterAuthorizationFailedError,
    ) as e:
        refusal: BaseException = e
        return refusal
    finally:
        await producer.stop()
    pytest.fail(f"{topic} accepted a record it should have refused")


class TestStrangersCannotWrite:
    async def test_without_credentials_the_bus_does_not_even_answer(self, bus: GuardedBus) -> None:
        for topic in BUS_TOPICS:
            assert isinstance(await refused_write(bus.bootstrap, topic), KafkaConnectionError)
            REFUSED["stranger: no credentials (connection closed)"] += 1

    async def test_a_wrong_password_fails_authentication(
        self, bus: GuardedBus, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.ERROR, logger="aiokafka")
        for user in SERVICES:
            wrong = bus.as_user(user, password="not-" + bus.passwords[user])
            assert isinstance(await refused_write(wrong, topics.FULFILMENT), KafkaConnectionError)
            REFUSED["stranger: wrong password (authentication failed)"] += 1
        assert "SaslAuthenticationFailed" in caplog.text
        assert not any(p in caplog.text for p in bus.passwords.values()), "a password was logged"

    async def test_an_unknown_user_fails_authentication(
        self, bus: GuardedBus, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.ERROR, logger="aiokafka")
        nobody = bus.as_user("mallory", password=secrets.token_urlsafe(16))
        assert isinstance(await refused_write(nobody, topics.FULFILMENT), KafkaConnectionError)
        REFUSED["stranger: unknown user (authentication failed)"] += 1
        assert "SaslAuthenticationFailed" in caplog.text

    async def test_a_valid_user_with_no_grants_may_write_no_topic(self, bus: GuardedBus) -> None:
        for topic in BUS_TOPICS:
            refusal = await refused_write(bus.as_user(STRANGER), topic)
            assert isinstance(
                refusal, TopicAuthorizationFailedError | ClusterAuthorizationFailedError
            ), refusal
            REFUSED["stranger: valid user, no grants (authorization failed)"] += 1


class TestTheOperatorsTool:
    async def test_shoptrail_dlq_without_a_login_says_what_is_missing(
        self, bus: GuardedBus
    ) -> None:
        """A guarded bus closes a connection that doesn't sign in; to the tool that is silence."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPTRAIL_KAFKA_")}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shoptrail.events.dlq", "--bootstrap", bus.bootstrap,
            "--timeout", "5", "list", topics.INGEST,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 2
        assert "no Kafka login was given" in err.decode()
        assert "SHOPTRAIL_KAFKA_USERNAME" in err.decode()


class TestEachServiceIsRefusedWhatItIsNotGranted:
    async def test_ingest_cannot_write_the_fulfilment_topic(self, bus: GuardedBus) -> None:
        """The incident: a forged `order.shipped` on shoptrail.fulfilment."""
        refusal = await refused_write(bus.as_user("ingest"), topics.FULFILMENT)
        assert isinstance(refusal, TopicAuthorizationFailedError), refusal
        REFUSED["ingest: write shoptrail.fulfilment"] += 1

    @pytest.mark.parametrize("service", SERVICES)
    async def test_no_topic_but_its_own_and_its_dead_letters(
        self, bus: GuardedBus, service: str
    ) -> None:
        forbidden = [t for t in BUS_TOPICS if not may(service, "WRITE", "topic", t)]
        assert forbidden, f"{service} may write every topic"
        for topic in forbidden:
            refusal = await refused_write(bus.as_user(service), topic)
            assert isinstance(refusal, TopicAuthorizationFailedError), (topic, refusal)
            REFUSED["service: write a topic it does not own"] += 1

    @pytest.mark.parametrize("service", SERVICES)
    async def test_no_other_services_consumer_group(self, bus: GuardedBus, service: str) -> None:
        for other, consumption in CONSUMERS.items():
            if may(service, "READ", "group", consumption.group):
                continue
            topic = consumption.topics[0]
            consumer = AIOKafkaConsumer(
                **kafka_client_options(bus.as_user(service)),
                group_id=consumption.group,
                enable_auto_commit=False,
            )
            try:
                await consumer.start()
                consumer.subscribe([topic])
                with pytest.raises((GroupAuthorizationFailedError, TopicAuthorizationFailedError)):
                    async with asyncio.timeout(60):
                        await consumer.getmany(timeout_ms=5_000)
            finally:
                await consumer.stop()
            REFUSED[f"service: join another's consumer group ({other})"] += 1

    @pytest.mark.parametrize("service", SERVICES)
    async def test_no_topic_creation(self, bus: GuardedBus, service: str) -> None:
        admin = AIOKafkaAdminClient(**kafka_client_options(bus.as_user(service)))
        await admin.start()
        try:
            created = await admin.create_topics([NewTopic(f"shoptrail.{service}-x", 1, 1)])
        finally:
            await admin.close()
        errors = [code for _, code, *_ in created.topic_errors]
        assert errors and all(code != 0 for code in errors), created
        REFUSED["service: create a topic"] += 1


class TestEachServiceCanDoItsJob:
    @pytest.mark.parametrize("service", SERVICES)
    async def test_writes_its_own_topic_and_dead_letter_topics(
        self, bus: GuardedBus, service: str
    ) -> None:
        writes = [g.name for g in bus_users()[service] if g.operation == "WRITE"]
        assert writes
        async with Producer(bus.as_user(service), client_id=f"acl-{service}") as producer:
            for topic in writes:
                sent = await producer.send_and_wait(topic, b"{}", key=service.encode())
                assert sent.topic == topic and sent.offset >= 0

    @pytest.mark.parametrize("service", tuple(CONSUMERS))
    async def test_consumes_in_its_own_group_commits_and_reads_its_lag(
        self, bus: GuardedBus, service: str
    ) -> None:
        consumption = CONSUMERS[service]
        user = consumption.service  # a service may have several groups (notifier-alerts)
        topic = consumption.topics[0]
        marker = uuid.uuid4().hex.encode()
        async with Producer(bus.operator, client_id="acl-operator") as producer:
            await producer.send_and_wait(topic, marker, key=marker)
        consumer = AIOKafkaConsumer(
            **kafka_client_options(bus.as_user(user)),
            group_id=consumption.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            if consumption.by_pattern:
                consumer.subscribe(pattern=topics.EVENT_TOPIC_PATTERN)
            else:
                consumer.subscribe(list(consumption.topics))
            async with asyncio.timeout(90):
                while True:
                    batch = await consumer.getmany(timeout_ms=1_000)
                    if any(r.value == marker for rs in batch.values() for r in rs):
                        break
            await consumer.commit()
        finally:
            await consumer.stop()
        sampler = ConsumerLagSampler(
            bus.as_user(user), consumption.group, topics=consumption.topics
        )
        try:
            families = await sampler.sample()
        finally:
            await sampler.aclose()
        lagged = {s.labels["topic"] for f in families for s in f.samples}
        assert topic in lagged
