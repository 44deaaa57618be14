"""Event codec cost against plain JSON of the same bytes, measured in the same run.

The baseline is what any JSON consumer pays (`json.loads` / `json.dumps` of the
same ~1 KB message); the ratio is what strict validation and typing add.
"""

from __future__ import annotations

import gc
import json
import time
import timeit
from collections.abc import Callable

from common import Row

from shoptrail.events import decode, encode, new_event
from shoptrail.events.common import EXAMPLE_ITEMS
from shoptrail.events.ingest import OrderCreated
from shoptrail.kit.runtime import DEFAULT_GEN0_THRESHOLD


def _batch_decode(raws: list[bytes], gen0: int, rounds: int = 5) -> float:
    """Per message: a consumer-sized batch decoded and kept alive, at a gen0 threshold."""
    default = gc.get_threshold()
    gc.set_threshold(gen0, default[1], default[2])
    try:
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            batch = [decode(raw) for raw in raws]
            best = min(best, (time.perf_counter() - started) / len(batch))
            del batch
        return best
    finally:
        gc.set_threshold(*default)


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
    raws = [encode(new_event(data, source="/bench")) for _ in range(2000)]
    tuned = _batch_decode(raws, DEFAULT_GEN0_THRESHOLD)
    stock = _batch_decode(raws, 700)
    size = f"{len(raw)} B message"
    return [
        Row("codec", f"decode vs json.loads ({size})", parse, loads, "s/msg"),
        Row("codec", f"encode vs json.dumps ({size})", write, dumps, "s/msg"),
        Row("codec", "batch of 2,000 decoded: gc gen0 50,000 vs 700", tuned, stock, "s/msg"),
    ]
