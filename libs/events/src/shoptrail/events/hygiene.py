"""What the contract lets through: text every consumer's store can hold.

PostgreSQL cannot store U+0000 (in `text` or `jsonb`), and UTF-8 cannot encode
a lone surrogate (`"\\ud800"` is valid JSON, but no string of real
characters). Both are replaced by U+FFFD wherever text enters or leaves the
contract, so a customer's odd name never costs an order and never reaches a
consumer that cannot store it. Lengths are bounded: every string in an event
(`MAX_TEXT`), every list (`MAX_ITEMS`); free text that comes from elsewhere
(a provider's reason, an exception) is cut to `MAX_FREE_TEXT` instead of
being refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

MAX_TEXT = 4096
"""Characters in any one string of an event (`str_max_length` of every contract model)."""

MAX_ID = 255
"""Characters in an identifier (order id, order number, email address, cart id …):
they are indexed, and a PostgreSQL index entry must stay well under ~2.7 KB."""

MAX_ITEMS = 500
"""Entries in a list of an event (line items); Stripe allows 100 per checkout."""

MAX_FREE_TEXT = 1000
"""Characters kept of free text (reasons, errors) before it is cut with an ellipsis."""

REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """`text` with U+0000 and lone surrogates replaced by U+FFFD (unchanged if already clean)."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 pairs up valid surrogate pairs and replaces the lone ones.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean_json(value: Any) -> Any:
    """A parsed JSON value with every string (keys too) passed through `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def cut(text: str, limit: int = MAX_FREE_TEXT) -> str:
    """Clean `text` and keep at most `limit` characters (the last one an ellipsis)."""
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_free_text(value: Any) -> Any:
    return cut(value) if isinstance(value, str) else value


Identifier = Annotated[str, Field(max_length=MAX_ID)]
"""An id, number or address: bounded by `MAX_ID` (refused beyond, never cut)."""

FreeText = Annotated[str, BeforeValidator(_cut_free_text)]
"""A string from outside our control (a reason, an error): cleaned and cut, never refused."""
