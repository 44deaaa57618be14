"""Event codec cost against plain JSON of the same bytes, measured in the same run.

The baseline is what any JSON consumer pays (`json.loads` / `json.dumps` of the
same ~1 KB message); the ratio is what strict validation and typing add.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

from common import Row

from shoptrail.events import decode, encode, new_event
from shoptrail.events.common import EXAMPLE_ITEMS
from shoptrail.events.ingest import OrderCreated


def _best_per_call(fn: Callable[[], object], number: int = 2000, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def run() -> list[Row]:
    data = OrderCreated.example().model_copy(update={"line_items": EXAMPLE_ITEMS * 4})
    event = new_event(data, source="/bench")
    raw = encode(event)
    as_dict = json.loads(raw)

    loads = _best_per_call(lambda: json.loads(raw))
    parse = _best_per_call(lambda: decode(raw))
    dumps = _best_per_call(lambda: json.dumps(as_dict).encode())
    write = _best_per_call(lambda: encode(event))
    size = f"{len(raw)} B message"
    return [
        Row("codec", f"decode vs json.loads ({size})", parse, loads, "s/msg"),
        Row("codec", f"encode vs json.dumps ({size})", write, dumps, "s/msg"),
    ]
