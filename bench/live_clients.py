"""WebSocket clients for bench_live, in a process of their own.

    python bench/live_clients.py WS_URL CLIENTS SAMPLED SECONDS [badge]

Opens the clients (SAMPLED of them parse every message and time each entry),
prints "ready", keeps reading for SECONDS, then prints the latencies as JSON.
Running them apart keeps the publisher's clock honest: a busy client loop
would otherwise delay publishing and count the delay as push latency.
"""

from __future__ import annotations

import asyncio
import json
import sys

import uvloop
from bench_live import Drain, open_clients, open_drains, reader


async def main(url: str, clients: int, sampled: int, seconds: float, others: str) -> None:
    samples: list[float] = []
    conns = await open_clients(url, min(sampled, clients), "&feed=1")
    drains: list[Drain] = await open_drains(url, max(clients - sampled, 0), others)
    tasks = [asyncio.create_task(reader(c, samples)) for c in conns]
    tasks += [asyncio.create_task(d.drain()) for d in drains]
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    await asyncio.gather(*(d.close() for d in drains), return_exceptions=True)
    print(json.dumps(samples), flush=True)


if __name__ == "__main__":
    ws_url, n, sampled, seconds = sys.argv[1:5]
    badge_only = sys.argv[5:6] == ["badge"]
    # uvloop: thousands of sockets read in C, so the clients are not the bottleneck measured.
    uvloop.run(main(ws_url, int(n), int(sampled), float(seconds), "" if badge_only else "&feed=1"))
