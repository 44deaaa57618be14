"""Grouped failures: which warnings and errors are "the same problem".

A provider outage makes one "Submission failed" entry per order per attempt.
The owner needs one row per *problem*, not per occurrence, so each warning and
error gets a fingerprint: its event type plus its message with everything that
varies per occurrence (ids, order numbers, emails, uuids, numbers, urls)
replaced by placeholders. "timeout after 30s for ord_x" and "timeout after 45s
for ord_y" share a fingerprint; "out of stock" and "timeout" do not.

Pure functions only: the store (adapters/groups.py) keeps the groups.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

GROUPED_LEVELS = frozenset({"warning", "error"})
"""Only what needs attention is grouped; facts (info/debug) never are."""

_ID_PREFIXES = "ord|cs|pi|ch|cus|re|evt|sync|cart|job|acct|sub|in|po|prod|var"
"""Prefixes of the ids Stripe, the providers and the shop use: always an id after them."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    # Prefixed ids (ord_…, cs_…, pi_…, sync_…, ord_demo_4983…): the prefix is kept.
    (re.compile(rf"\b({_ID_PREFIXES})_\w+"), r"\1_<id>"),
    (re.compile(r"\b([a-z]{2,10})_(?:[a-z]+_)?[A-Za-z0-9]*\d[A-Za-z0-9]*\b"), r"\1_<id>"),
    # Shop order numbers like SS-261201-C600.
    (re.compile(r"\b[A-Z]{1,5}-\d{3,}(?:-[A-Z0-9]+)*\b"), "<order>"),
    # Long hex or mixed tokens (request ids, hashes).
    (re.compile(r"\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{12,}\b"), "<id>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
)
_SPACE = re.compile(r"\s+")
MAX_TITLE = 200


@lru_cache(maxsize=4096)
def normalise(message: str) -> str:
    """The message with what varies per occurrence replaced, whitespace collapsed.

    Cached: an outage repeats the same few messages thousands of times, and the
    write path asks for each entry's fingerprint and title.
    """
    out = message
    for pattern, placeholder in _PATTERNS:
        out = pattern.sub(placeholder, out)
    return _SPACE.sub(" ", out).strip()[:MAX_TITLE]


def fingerprint(event_type: str, level: str, message: str) -> str | None:
    """The group key of an entry, or None when the entry is not grouped (not a problem).

    A digest keeps the key short and indexable however long the message; the
    readable form is stored beside it as the group's title.
    """
    if level not in GROUPED_LEVELS:
        return None
    key = f"{event_type}\x1f{normalise(message)}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
