"""The typed event contract every Shoptrail service shares.

from shoptrail.events import REGISTRY, new_event, encode, decode
from shoptrail.events.fulfilment import OrderShipped
"""

from shoptrail.events import fulfilment, ingest, notes, notifier, system, topics
from shoptrail.events.base import Category, EventData, Level, OrderFact
from shoptrail.events.catalog import PRODUCERS, SHOP_TAXONOMY, topic_for
from shoptrail.events.codec import (
    CONTENT_TYPE,
    MalformedEventError,
    decode,
    encode,
    kafka_headers,
    kafka_key,
)
from shoptrail.events.envelope import Event, new_event
from shoptrail.events.ids import uuid7, uuid7_for
from shoptrail.events.money import Money
from shoptrail.events.registry import REGISTRY, Registry, UnknownEventTypeError

__all__ = [
    "CONTENT_TYPE",
    "PRODUCERS",
    "REGISTRY",
    "SHOP_TAXONOMY",
    "Category",
    "Event",
    "EventData",
    "Level",
    "MalformedEventError",
    "Money",
    "OrderFact",
    "Registry",
    "UnknownEventTypeError",
    "decode",
    "encode",
    "fulfilment",
    "ingest",
    "kafka_headers",
    "kafka_key",
    "new_event",
    "notes",
    "notifier",
    "system",
    "topic_for",
    "topics",
    "uuid7",
    "uuid7_for",
]
