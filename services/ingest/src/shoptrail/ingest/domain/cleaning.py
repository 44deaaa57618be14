"""What ingest lets in from a webhook: text every consumer can store, nesting it can walk.

Genuine provider data can carry characters no store wants: a customer name
with U+0000, a carrier with a control character, a bounce reason with a lone
surrogate. None of them costs the order: control characters (which nobody
types on purpose and nobody sees) are removed, so an id or a currency code
with one still reads right; a lone surrogate (half a character) becomes
U+FFFD. Strings beyond the contract's bound are cut, and a body nested deeper
than any real webhook is refused with a 400.
"""

from __future__ import annotations

import re
from typing import Any

from shoptrail.events.hygiene import MAX_TEXT, clean_text, cut

MAX_DEPTH = 64
"""JSON nesting ingest reads; Stripe's deepest objects are about 10 levels."""

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 controls (and DEL) but tab, line feed and carriage return."""


class TooDeepError(ValueError):
    """The JSON value is nested deeper than `MAX_DEPTH`."""


def clean_string(text: str) -> str:
    """No control characters (but tab and newlines) or lone surrogates; cut to the bound."""
    text = clean_text(_CONTROLS.sub("", text))
    return cut(text, MAX_TEXT) if len(text) > MAX_TEXT else text


def clean_payload(value: Any, depth: int = 0) -> Any:
    """A parsed JSON value with every string (keys too) cleaned; TooDeepError past `MAX_DEPTH`."""
    if isinstance(value, str):
        return clean_string(value)
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        raise TooDeepError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {clean_string(k): clean_payload(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_payload(v, depth + 1) for v in value]
    return value
