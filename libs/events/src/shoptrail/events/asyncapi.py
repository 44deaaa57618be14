"""The AsyncAPI 3.0 document of the bus, generated from the code (never by hand).

Everything in it is read from where the running shop takes it: topics and
their settings (topics.py), who publishes what (`PRODUCERS`) and who reads
what in which consumer group (`CONSUMERS`), record keys (`EventData.KEY`),
headers (codec.py, consuming.py) and each type's JSON Schema (schema.py). The
document is self-contained (every schema is inside it), so a service can
serve it as one file at `/asyncapi.json`.
"""

from __future__ import annotations

import json
from typing import Any

from shoptrail.events import topics
from shoptrail.events.base import EventData
from shoptrail.events.catalog import CONSUMERS, PRODUCERS
from shoptrail.events.codec import (
    CONTENT_TYPE,
    ID_HEADER,
    ORDER_HEADER,
    TYPE_HEADER,
    encode,
    kafka_headers,
)
from shoptrail.events.consuming import (
    DLQ_ERROR,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REFERENCE,
    DLQ_TOPIC,
    REFERENCE_PREFIX_BYTES,
)
from shoptrail.events.envelope import TRACEPARENT_PATTERN
from shoptrail.events.registry import REGISTRY
from shoptrail.events.schema import embeddable, example_event, json_schema, schema_name

KAFKA_BINDING = "0.5.0"
DEAD_LETTER = "dead_letter"
DLQ_TOOL = "shoptrail-dlq"
LOCAL_BOOTSTRAP = "127.0.0.1:9092"

DESCRIPTION = f"""Every Shoptrail event on Kafka, as CloudEvents 1.0 in **structured mode**.

* **Value**: one whole CloudEvent as JSON (`{CONTENT_TYPE}`): the envelope
  attributes (`id`, a UUIDv7 and the idempotency key; `type`; `source`; `time`,
  when the fact occurred; `subject`, the order id when about an order;
  `schemaversion`; `traceparent` and `correlationid` extensions) and `data`.
* **Headers**: `content-type` marks the value as a whole CloudEvent. There are
  no `ce_` headers (a CloudEvents reader would take them for binary mode);
  `{TYPE_HEADER}`, `{ID_HEADER}`, `{ORDER_HEADER}` (when about an order) and
  `traceparent` repeat envelope attributes for tools that do not parse values.
* **Key**: the entity the event is about, so its events share a partition and
  stay in order: each message's Kafka binding names the fields (the first of
  them with a value is the key).
* **Schemas**: each message's payload is the JSON Schema (draft 2020-12) of
  one type and version, `$id` `urn:shoptrail:schema:<type>.v<version>`
  (`x-schema-id` here), also checked in as libs/events/schemas/*.json.
  `type` and `schemaversion` are constants. The envelope admits CloudEvents
  extension attributes; `data` admits unknown fields (readers ignore them).
* **Dead letters**: a record a consumer cannot process is copied to
  `<topic>{topics.DEAD_LETTER_SUFFIX}` with `dlq-*` headers saying where it came from and why.

One topic per producing service; a consumer group reads whole topics and acts
on the types its `receive` operation lists (it commits past the others).
"""


def _event_headers(cls: type[EventData]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Kafka record headers (UTF-8 strings).",
        "properties": {
            "content-type": {"const": CONTENT_TYPE, "description": "A whole CloudEvent."},
            TYPE_HEADER: {"const": cls.TYPE, "description": "The envelope's `type`."},
            ID_HEADER: {"type": "string", "format": "uuid", "description": "The `id`."},
            ORDER_HEADER: {
                "type": "string",
                "description": "The `subject` (the order id), when the event is about an order.",
            },
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN,
                "description": "W3C trace context, the envelope's `traceparent`.",
            },
        },
        "required": ["content-type", TYPE_HEADER, ID_HEADER],
    }


def _key_schema(cls: type[EventData]) -> dict[str, Any]:
    fields = " else ".join(f"`data.{name}`" for name in cls.KEY)
    always = any(cls.model_fields[name].is_required() for name in cls.KEY)
    absent = "" if always else " No key when none of them has a value."
    return {
        "type": "string",
        "description": f"UTF-8: {fields}, the first with a value.{absent}",
        "x-fields": list(cls.KEY),
    }


def _message(cls: type[EventData]) -> dict[str, Any]:
    name = schema_name(cls)
    event = example_event(cls)
    return {
        "name": cls.TYPE,
        "title": f"{cls.TYPE} (v{cls.VERSION})",
        "summary": (cls.__doc__ or "").strip().splitlines()[0],
        "description": (cls.__doc__ or "").strip(),
        "contentType": CONTENT_TYPE,
        "headers": _event_headers(cls),
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {"kafka": {"key": _key_schema(cls), "bindingVersion": KAFKA_BINDING}},
        "examples": [
            {
                "name": name,
                "summary": cls.example().render(),
                "headers": kafka_headers(event),
                "payload": json.loads(encode(event)),
            }
        ],
        "x-level": cls.LEVEL.value,
        "x-category": cls.CATEGORY.value,
    }


_REFERENCE = {
    "type": "object",
    "description": f"Stands in for a record too large to copy (`{DLQ_REFERENCE}: true`).",
    "properties": {
        "reference": {"const": True},
        "topic": {"type": "string"},
        "partition": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0},
        "size_bytes": {"type": "integer", "minimum": 0},
        "error": {"type": "string"},
        "prefix": {
            "type": "string",
            "description": f"The first {REFERENCE_PREFIX_BYTES} bytes of the value, as text.",
        },
    },
    "required": ["reference", "topic", "partition", "offset", "size_bytes", "error", "prefix"],
}

_DEAD_LETTER = {
    "name": DEAD_LETTER,
    "title": "Dead letter",
    "summary": "A record a consumer could not process, set aside with why and where from.",
    "description": (
        "A copy of the original record: its key, value (any bytes, perhaps not an event "
        "at all) and headers, plus the `dlq-*` headers. A record too large to copy comes "
        f"as a reference instead (`{DLQ_REFERENCE}: true`, a small JSON body); "
        f"`{DLQ_TOOL} show` fetches the original by offset. `{DLQ_TOOL} republish` puts a "
        "fixed one back on its original topic."
    ),
    "headers": {
        "type": "object",
        "description": "The original record's headers, copied, plus these.",
        "properties": {
            DLQ_TOPIC: {"type": "string", "description": "Where the record was read."},
            DLQ_PARTITION: {"type": "string", "pattern": "^[0-9]+$"},
            DLQ_OFFSET: {"type": "string", "pattern": "^[0-9]+$"},
            DLQ_ERROR: {"type": "string", "maxLength": 1000, "description": "Why."},
            DLQ_GROUP: {"type": "string", "description": "The consumer group that gave up."},
            DLQ_REFERENCE: {"const": "true", "description": "Present only for a reference."},
        },
        "required": [DLQ_TOPIC, DLQ_PARTITION, DLQ_OFFSET, DLQ_ERROR, DLQ_GROUP],
        "additionalProperties": {"type": "string"},
    },
    "payload": {
        "description": "The original value as read, or a reference (see the description).",
        "anyOf": [{"$ref": "#/components/schemas/dead_letter_reference"}, {}],
    },
    "bindings": {
        "kafka": {
            "key": {
                "type": "string",
                "description": "The original record's key (left out of a reference over 1 KiB).",
            },
            "bindingVersion": KAFKA_BINDING,
        }
    },
}


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _topic_binding() -> dict[str, Any]:
    config = topics.TOPIC_CONFIG
    return {
        "partitions": topics.PARTITIONS,
        "replicas": topics.REPLICATION_FACTOR,
        "topicConfiguration": {
            "cleanup.policy": config["cleanup.policy"].split(","),
            "retention.ms": int(config["retention.ms"]),
            "retention.bytes": int(config["retention.bytes"]),
        },
        "bindingVersion": KAFKA_BINDING,
    }


def _channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic, types in PRODUCERS.items():
        service = topic.rsplit(".", 1)[-1]
        said = f"Events published by {service}." if types else "Reserved: nothing today."
        channels[_channel_id(topic)] = {
            "address": topic,
            "title": topic,
            "description": f"{said} Settings as `make dev` creates it (production: more "
            "partitions and replicas, deploy/README.md).",
            "messages": {
                schema_name(cls): {"$ref": f"#/components/messages/{schema_name(cls)}"}
                for cls in types
            },
            "bindings": {"kafka": {"topic": topic, **_topic_binding()}},
        }
        dlq = topics.dead_letter_topic(topic)
        channels[_channel_id(dlq)] = {
            "address": dlq,
            "title": dlq,
            "description": f"Records from {topic} that a consumer group could not process.",
            "messages": {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}},
            "bindings": {"kafka": {"topic": dlq, **_topic_binding()}},
        }
    return channels


def _operation(
    action: str, topic: str, types: tuple[type[EventData], ...] | None, summary: str, **kafka: Any
) -> dict[str, Any]:
    channel = _channel_id(topic)
    names = [schema_name(cls) for cls in types] if types is not None else [DEAD_LETTER]
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names],
    }
    if kafka:
        operation["bindings"] = {"kafka": {**kafka, "bindingVersion": KAFKA_BINDING}}
    return operation


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic, types in PRODUCERS.items():
        service = topic.rsplit(".", 1)[-1]
        if types:
            operations[f"{service}_sends_{_channel_id(topic)}"] = _operation(
                "send", topic, types, f"{service} publishes its events (acks=all, idempotent)."
            )
    for name, consumer in CONSUMERS.items():  # a service may read in several groups
        label = name.replace("-", "_")
        group = {"groupId": {"type": "string", "enum": [consumer.group]}}
        for topic, types in consumer.reads.items():
            if not types:
                continue
            every = consumer.pattern and set(types) == set(PRODUCERS.get(topic, ()))
            acts = "every type" if every else ", ".join(cls.TYPE for cls in types)
            operations[f"{label}_receives_{_channel_id(topic)}"] = _operation(
                "receive",
                topic,
                types,
                f"{consumer.service} (group {consumer.group}) reads the topic; acts on {acts}.",
                **group,
            )
        if not consumer.dead_letters:
            continue  # skips what it cannot read: another group of the service sets it aside
        for topic in consumer.reads:
            dlq = topics.dead_letter_topic(topic)
            operations[f"{label}_sends_{_channel_id(dlq)}"] = _operation(
                "send", dlq, None, f"{consumer.service} sets aside what it cannot process."
            )
    for topic in PRODUCERS:
        dlq = topics.dead_letter_topic(topic)
        operations[f"dlq_tool_receives_{_channel_id(dlq)}"] = _operation(
            "receive", dlq, None, f"`{DLQ_TOOL} list|show` reads by offset (no consumer group)."
        )
    return operations


def asyncapi() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document: servers, channels, operations and components."""
    ordered = sorted(REGISTRY, key=lambda c: c.TYPE)
    schemas = {
        schema_name(cls): embeddable(json_schema(cls), f"#/components/schemas/{schema_name(cls)}")
        for cls in ordered
    }
    schemas["dead_letter_reference"] = _REFERENCE
    messages = {schema_name(cls): _message(cls) for cls in ordered}
    messages[DEAD_LETTER] = _DEAD_LETTER
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Shoptrail events", "version": "1", "description": DESCRIPTION},
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": LOCAL_BOOTSTRAP,
                "protocol": "kafka",
                "description": "`make dev` / deploy/local/stack.py: one broker, no auth.",
            },
            "production": {
                "host": "{bootstrap}",
                "protocol": "kafka-secure",
                "description": "The shop's cluster: SASL_SSL, one SCRAM user per service.",
                "variables": {
                    "bootstrap": {
                        "default": "kafka.example.internal:9093",
                        "description": "The cluster's bootstrap host:port.",
                    }
                },
                "security": [{"$ref": "#/components/securitySchemes/scramSha512"}],
            },
        },
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "scramSha512": {
                    "type": "scramSha512",
                    "description": "SASL/SCRAM-SHA-512: one user per service, whose ACLs "
                    "allow writing its own topic and dead-letter topics and reading what "
                    "it consumes.",
                }
            },
        },
    }
