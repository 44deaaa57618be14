"""UUIDv7 event ids: time-ordered, and derivable from a source's own id."""

from __future__ import annotations

import hashlib
import os
import time as _time
import uuid
from datetime import datetime


def _uuid7_from_parts(unix_ms: int, random_bits: bytes) -> uuid.UUID:
    """Lay out a UUIDv7 (RFC 9562): 48-bit ms timestamp, version, variant, random."""
    value = (unix_ms & ((1 << 48) - 1)) << 80
    rand = int.from_bytes(random_bits[:10], "big")
    rand_a = (rand >> 68) & 0xFFF  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value |= 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7(at: datetime | None = None) -> uuid.UUID:
    """A fresh UUIDv7, time-ordered by `at` (default: now)."""
    unix_ms = int(at.timestamp() * 1000) if at else _time.time_ns() // 1_000_000
    return _uuid7_from_parts(unix_ms, os.urandom(10))


def uuid7_for(source_key: str, at: datetime) -> uuid.UUID:
    """A deterministic UUIDv7 for an outside fact, e.g. a Stripe event id.

    The same source key and time always give the same id, so a webhook that is
    delivered five times becomes one event downstream.
    """
    digest = hashlib.sha256(source_key.encode()).digest()
    return _uuid7_from_parts(int(at.timestamp() * 1000), digest)
