"""The operator's dead-letter tool (`shoptrail-dlq`) on a real broker.

A real consumer (`subscribe_events`) dead-letters a broken message; the tool
lists it, shows it, refuses to put it back unfixed, and republishes the fixed
body to the original topic — where the same consumer then handles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shoptrail.events import Event, EventData, encode, new_event
from shoptrail.events.consuming import FailureHandling, dead_letter, subscribe_events
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import create_broker
from shoptrail.events.topics import dead_letter_topic
from shoptrail.testing import NewTopicFactory, TopicReader

pytestmark = pytest.mark.kafka

DLQ_TOOL = Path(sys.executable).parent / "shoptrail-dlq"


async def dlq(bootstrap: str, *args: str) -> tuple[int, str, str]:
    """Run the tool as an operator would; (exit code, stdout, stderr)."""
    # The tool bounds itself (--timeout) and says so; the test's own bound is only a backstop.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "faulthandler", str(DLQ_TOOL),
        "--bootstrap", bootstrap, "--timeout", "90", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 150)
    except TimeoutError:
        process.send_signal(signal.SIGABRT)  # faulthandler prints where it is stuck
        out, err = await process.communicate()
        pytest.fail(f"dlq {' '.join(args)} did not finish in 150 s:\n{err.decode()[-5000:]}")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def dead_lettered_topic(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> AsyncIterator[str]:
    """A topic whose dead-letter topic is removed afterwards too."""
    topic = await new_topic(prefix="dlq-tool", partitions=1)
    try:
        yield topic
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        with contextlib.suppress(Exception):
            await admin.delete_topics([dead_letter_topic(topic)])
        await admin.close()


async def test_a_fixed_dead_letter_goes_back_to_its_topic_and_is_handled(
    kafka_bootstrap: str,
    dead_lettered_topic: str,
    new_topic: NewTopicFactory,
    read_topic: TopicReader,
    tmp_path: Path,
) -> None:
    topic, facts = dead_lettered_topic, await new_topic(prefix="dlq-facts", partitions=1)
    fixed = new_event(OrderShipped.example(), source="/services/fulfilment")
    broken = encode(fixed).replace(b'"type":"order.shipped"', b'"type":"order.shiped"')
    handled: list[Event[EventData]] = []
    arrived = asyncio.Event()

    async def handle(event: Event[EventData]) -> None:
        handled.append(event)
        arrived.set()

    consumer = create_broker(kafka_bootstrap, client_id="dlq-tool-test")
    group = f"g-{uuid.uuid4().hex}"
    async with Producer(kafka_bootstrap, client_id="producer") as producer:
        failures = FailureHandling.for_consumer(
            producer, group=group, fact_topic=facts, source="/tests"
        )
        subscribe_events(consumer, topic, group_id=group, handler=handle, failures=failures)
        await producer.send_and_wait(topic, broken, key=b"ord_01J9Z8K4", headers={"trace": "t-1"})
        async with consumer:
            await consumer.start()
            (dead,) = await read_topic(dead_letter_topic(topic), 1)
            address = f"{dead.partition}:{dead.offset}"

            code, listing, _ = await dlq(kafka_bootstrap, "list", topic)
            assert code == 0
            assert f"{address}  from {topic} 0:0" in listing
            assert "order.shiped" in listing  # the reason names the unknown type
            assert "1 message(s)" in listing

            code, shown, _ = await dlq(kafka_bootstrap, "show", topic, address)
            assert code == 0 and shown.encode() == broken

            code, _, refusal = await dlq(kafka_bootstrap, "republish", topic, address)
            assert code == 1 and "refused" in refusal
            assert handled == []

            fixed_file = tmp_path / "fixed.json"
            fixed_file.write_bytes(encode(fixed))
            code, said, _ = await dlq(
                kafka_bootstrap, "republish", topic, address, "--value-file", str(fixed_file)
            )
            assert code == 0, said
            await asyncio.wait_for(arrived.wait(), 30)

    assert [e.id for e in handled] == [fixed.id]
    _, again = await read_topic(topic, 2)
    headers = {k: v.decode() for k, v in again.headers}
    assert again.key == b"ord_01J9Z8K4"
    assert headers["trace"] == "t-1"
    assert headers["dlq-republished-from"] == f"{dead_letter_topic(topic)}:{address}"
    assert not any(name.startswith("dlq-original") for name in headers)


async def test_a_dead_letter_kept_by_reference_shows_the_original_message(
    kafka_bootstrap: str, dead_lettered_topic: str, read_topic: TopicReader
) -> None:
    topic = dead_lettered_topic
    huge = b'{"not":"an event","pad":"' + b"x" * 1_048_000 + b'"}'
    async with Producer(kafka_bootstrap, client_id="producer") as producer:
        original = await producer.send_and_wait(topic, huge, key=b"ord_big")
        record = (await read_topic(topic, 1))[0]
        assert await dead_letter(producer, record, "too big to read", group="g") is True
    (dead,) = await read_topic(dead_letter_topic(topic), 1)
    address = f"{dead.partition}:{dead.offset}"

    code, listing, _ = await dlq(kafka_bootstrap, "list", topic)
    assert code == 0 and "by reference" in listing
    assert f"from {topic} {original.partition}:{original.offset}" in listing
    code, shown, _ = await dlq(kafka_bootstrap, "show", topic, address)
    assert code == 0 and shown.encode() == huge
