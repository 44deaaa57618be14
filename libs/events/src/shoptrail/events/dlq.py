"""`shoptrail-dlq`: inspect a dead-letter topic and put a fixed message back where it came from.

A consumer that cannot read a message copies it to `<topic>.dlq` with the
original coordinates and the reason in its headers (shoptrail.events.consuming),
and the activity log shows an "Unreadable event" error. To resolve one:

    shoptrail-dlq list shoptrail.ingest                  # what is there, and why
    shoptrail-dlq show shoptrail.ingest 0:12 > msg.json  # one message's body
    $EDITOR msg.json                                     # fix it
    shoptrail-dlq republish shoptrail.ingest 0:12 --value-file msg.json

A message too large to copy was dead-lettered as a reference (its coordinates,
size, reason and first bytes; `list` says "by reference"): `show` and
`republish` then fetch the original from its own topic by offset.

`republish` refuses a body that is still not a valid Shoptrail event, sends it
to the original topic with the original key (so it lands in the same order's
partition) and headers, and marks it with `dlq-republished-from`. Consumers
are idempotent on the event id, so republishing twice is harmless. Then
resolve the error in the admin UI. Kafka: --bootstrap, else
SHOPTRAIL_KAFKA_BOOTSTRAP, else 127.0.0.1:9092. On a guarded bus the tool signs
in as the operator: SHOPTRAIL_KAFKA_USERNAME and SHOPTRAIL_KAFKA_PASSWORD
(never an option, so the password stays out of shell history and `ps`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError

from shoptrail.events.codec import MalformedEventError, decode
from shoptrail.events.consuming import (
    DLQ_ERROR,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REFERENCE,
    DLQ_TOPIC,
)
from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options
from shoptrail.events.reading import reader, records_to_end
from shoptrail.events.topics import DEAD_LETTER_SUFFIX, dead_letter_topic

REPUBLISHED_FROM = "dlq-republished-from"


@dataclass(frozen=True)
class DeadLetter:
    """One message on a dead-letter topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def address(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def origin(self) -> str:
        h = self.headers
        return f"{h.get(DLQ_TOPIC, '?')} {h.get(DLQ_PARTITION, '?')}:{h.get(DLQ_OFFSET, '?')}"

    @property
    def by_reference(self) -> bool:
        """Too large to copy: the body is a reference to the original (see consuming.py)."""
        return self.headers.get(DLQ_REFERENCE) == "true"


def _letter(record: object) -> DeadLetter:
    headers = {
        name: value.decode(errors="replace")
        for name, value in getattr(record, "headers", None) or ()
    }
    return DeadLetter(
        partition=getattr(record, "partition"),  # noqa: B009 - aiokafka's record is untyped
        offset=getattr(record, "offset"),  # noqa: B009
        key=getattr(record, "key"),  # noqa: B009
        value=getattr(record, "value", None) or b"",
        headers=headers,
    )


def _dlq_name(topic: str) -> str:
    return topic if topic.endswith(DEAD_LETTER_SUFFIX) else dead_letter_topic(topic)


async def read_all(kafka: KafkaAccess | str, topic: str) -> list[DeadLetter]:
    """Every message on the topic's dead-letter topic, oldest first per partition."""
    return [_letter(record) for record in await records_to_end(kafka, [topic])]


async def read_one(kafka: KafkaAccess | str, topic: str, partition: int, offset: int) -> DeadLetter:
    consumer = reader(kafka)
    try:
        await consumer.start()  # in the try: a failed start still closes the client
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if offset >= end:
            raise SystemExit(f"{topic} partition {partition} has no offset {offset} (end: {end})")
        consumer.seek(tp, offset)
        record = await asyncio.wait_for(consumer.getone(tp), timeout=30)
        return _letter(record)
    finally:
        await consumer.stop()


async def original_of(kafka: KafkaAccess | str, letter: DeadLetter) -> DeadLetter:
    """The letter with the original message's key, body and headers, if it is a reference."""
    if not letter.by_reference:
        return letter
    h = letter.headers
    original = await read_one(kafka, h[DLQ_TOPIC], int(h[DLQ_PARTITION]), int(h[DLQ_OFFSET]))
    return DeadLetter(
        partition=letter.partition,
        offset=letter.offset,
        key=original.key,
        value=original.value,
        headers={**original.headers, **{k: v for k, v in h.items() if k.startswith("dlq-")}},
    )


async def republish(
    kafka: KafkaAccess | str, letter: DeadLetter, value: bytes, fallback_topic: str
) -> str:
    """Send `value` to the letter's original topic; returns where it went."""
    target = letter.headers.get(DLQ_TOPIC) or fallback_topic
    headers = [
        (name, text.encode())
        for name, text in letter.headers.items()
        if not name.startswith("dlq-")
    ]
    source = f"{_dlq_name(target)}:{letter.address}"
    headers.append((REPUBLISHED_FROM, source.encode()))
    producer = AIOKafkaProducer(**kafka_client_options(kafka), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(target, value, key=letter.key, headers=headers)
    finally:
        await producer.stop()
    return f"{target} partition {sent.partition} offset {sent.offset}"


def _address(text: str) -> tuple[int, int]:
    partition, _, offset = text.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        raise argparse.ArgumentTypeError("a message is named <partition>:<offset>, e.g. 0:12")
    return int(partition), int(offset)


def operator_access(bootstrap: str) -> KafkaAccess:
    """The operator's Kafka user from `SHOPTRAIL_KAFKA_*`, at `bootstrap`."""
    return dataclasses.replace(KafkaAccess.from_env(), bootstrap=bootstrap)


async def run(args: argparse.Namespace) -> int:
    kafka = operator_access(args.bootstrap)
    dlq = _dlq_name(args.topic)
    source = dlq.removesuffix(DEAD_LETTER_SUFFIX)
    if args.command == "list":
        letters = await read_all(kafka, dlq)
        for d in letters:
            how = "  (by reference: too large to copy)" if d.by_reference else ""
            print(
                f"{d.address:>8}  from {d.origin}  group {d.headers.get(DLQ_GROUP, '?')}{how}\n"
                f"          {d.headers.get(DLQ_ERROR, '(no reason recorded)')[:200]}"
            )
        print(f"{len(letters)} message(s) on {dlq}")
        return 0
    letter = await original_of(kafka, await read_one(kafka, dlq, *args.address))
    if args.command == "show":
        if args.headers:
            print(json.dumps(letter.headers, indent=2), file=sys.stderr)
        sys.stdout.write(letter.value.decode(errors="replace"))
        return 0
    value = args.value_file.read_bytes() if args.value_file else letter.value
    try:
        event = decode(value)
    except MalformedEventError as exc:
        print(f"refused: still not a valid event — {exc}", file=sys.stderr)
        return 1
    where = await republish(kafka, letter, value, source)
    print(f"republished {event.type} {event.id} from {dlq} {letter.address} to {where}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `shoptrail-dlq` command line."""
    parser = argparse.ArgumentParser(
        prog="shoptrail-dlq",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("SHOPTRAIL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka bootstrap servers",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="every dead letter of a topic, with its reason")
    listing.add_argument("topic", help="the event topic (or its .dlq)")
    show = sub.add_parser("show", help="print one dead letter's body (headers with --headers)")
    show.add_argument("topic", help="the event topic (or its .dlq)")
    show.add_argument("address", type=_address, help="<partition>:<offset> on the .dlq topic")
    show.add_argument("--headers", action="store_true", help="also print headers on stderr")
    again = sub.add_parser("republish", help="send a (fixed) dead letter back to its topic")
    again.add_argument("topic", help="the event topic (or its .dlq)")
    again.add_argument("address", type=_address, help="<partition>:<offset> on the .dlq topic")
    again.add_argument(
        "--value-file", type=Path, help="the fixed body (default: the dead letter as it is)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="give up (exit 2) if Kafka has not answered everything within this many seconds",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `shoptrail-dlq` command."""
    args = build_parser().parse_args(argv)
    return asyncio.run(_bounded(args))


async def _bounded(args: argparse.Namespace) -> int:
    """Run the command within `--timeout`; Kafka's failures as one clear line, exit 2."""
    try:
        async with asyncio.timeout(args.timeout):
            return await run(args)
    except TimeoutError:
        said = f"Kafka at {args.bootstrap} did not answer within {args.timeout:g} s"
    except KafkaConnectionError:
        said = f"could not connect to Kafka at {args.bootstrap}"
    except KafkaError as exc:  # e.g. refused by the bus's ACLs
        said = f"Kafka at {args.bootstrap} refused: {type(exc).__name__}"
    print(f"shoptrail-dlq: {said}", file=sys.stderr)
    if operator_access(args.bootstrap).username is None:
        # A guarded bus closes connections that do not sign in: they look like silence.
        print(
            "shoptrail-dlq: no Kafka login was given; if the bus is guarded, set "
            "SHOPTRAIL_KAFKA_USERNAME and SHOPTRAIL_KAFKA_PASSWORD (`stack.py env`)",
            file=sys.stderr,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
