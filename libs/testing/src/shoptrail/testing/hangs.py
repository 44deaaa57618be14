"""Say where a hung test is waiting, before pytest-timeout ends it.

pytest-timeout's traceback of an asyncio test shows only the event loop
idling in `select()`; the coroutine that waits forever is invisible. A
watchdog thread prints every pending task's stack a few seconds before the
timeout, so a hang seen once in CI can be diagnosed from its log.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def dump_pending_tasks(title: str) -> None:
    """Print the stack of every unfinished asyncio task, on any loop, to stderr."""
    tasks = [t for t in list(asyncio.tasks._all_tasks) if not t.done()]  # type: ignore[attr-defined]
    print(f"\n=== {title}: {len(tasks)} pending asyncio task(s) ===", file=sys.stderr)
    for task in tasks:
        print(f"--- {task.get_name()} {task.get_coro()!r}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()


@contextmanager
def watchdog(title: str, after: float) -> Iterator[None]:
    """Dump pending tasks if the block is still running after `after` seconds."""
    timer = threading.Timer(after, dump_pending_tasks, args=(title,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
