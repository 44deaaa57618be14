"""Process-level tuning for services that churn through many short-lived objects."""

from __future__ import annotations

import gc

DEFAULT_GEN0_THRESHOLD = 50_000
"""CPython's default is 700. Each batch of decoded events allocates hundreds of
thousands of small objects, nearly all freed by reference counting; at 700 the
cycle collector runs every few events and costs more than the decoding itself
(bench/bench_codec.py measures it). 50,000 keeps young-generation scans rare
while garbage cycles are still collected within a batch or two."""


def tune_gc(gen0_threshold: int = DEFAULT_GEN0_THRESHOLD) -> None:
    """Call once, after imports, before serving.

    Freezing moves everything allocated so far (modules, classes, schemas)
    into a permanent generation the collector never scans again;
    a higher young-generation threshold makes collections rarer. Memory held
    by real garbage cycles is still reclaimed, only later.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
