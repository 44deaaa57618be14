"""A burst of orders: the whole shop on this machine, against a bare route.

The whole shop as `make dev --no-demo` starts it (every service process, real
Kafka and PostgreSQL on private ports). For each rate in BENCH_LOAD_RATES
(default 200 orders/s, the issue's realistic burst), distinct signed
`checkout.session.completed` webhooks go out on a fixed schedule for
BENCH_LOAD_SECONDS (30), whatever the answers (an open loop, as Stripe sends),
while PAGERS (20) logged-in owners page the admin's feed (each a page every
BENCH_LOAD_PAGE_EVERY s, default 1; 0: as fast as answers come) and a live WebSocket
client (the admin's open page) receives the entries. The benchmark prints:

- webhook → 2xx p50 / p99 (ingest answers once Kafka acknowledged the event)
  against a bare FastAPI route at the same rate, measured in the same run just
  before (`bare_route.py`); goal p99 <= 50 ms;
- the share answered 503 (ingest refusing at its door, see
  `ingest/entrypoints/admission.py`), and the slowest answer;
- signed webhook sent → its order.created entry received on the live
  WebSocket client, p50 / p99 (goal p99 <= 250 ms), and where that time goes,
  from stamps the data already has, in the order they happen:
    sent (the client's clock) → handed to Kafka (the record's CreateTime,
    stamped by ingest's producer) → fetched (a probe consumer of the same
    topic in this process: when Kafka let consumers see it) → the log's write
    transaction began (the entry's `inserted_at`, `now()`) → its change
    stamped (`activity_changes.created_at`, `clock_timestamp()` just before
    COMMIT, as bench_live.py uses) → received on the WebSocket (the client's
    clock). Each step is shown as its p50 / p99 against the whole's. This
    process's own event-loop lag (p99) is shown too: it delays the probe's and
    the WebSocket client's stamps alike;
- the time to drain: from the last webhook until every order ingest took is in
  the log, submitted to the (fake) provider and mailed, against the burst's length;
- the admin meanwhile: the owners' feed pages, p50 / p99 during the burst
  against the same clients on the quiet shop;
- where the CPU went: each process's CPU per order over burst and drain.

Then ingest alone (the other processes stopped) at BENCH_LOAD_ALONE_RATES
(200,400): the capacity of one node with and without the rest of the shop is
the highest measured rate whose p99 stays within 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from bench_feed import OLDER, feed_entries, paging
from common import Goal, Row
from infra import REPO, service

for folder in (REPO, REPO / "deploy" / "local"):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

import dev  # noqa: E402
import senders  # noqa: E402
import stack  # noqa: E402

from shoptrail.admin_ui.devtools.harness import log_in  # noqa: E402
from shoptrail.events.kafka_access import kafka_client_options  # noqa: E402
from shoptrail.events.topics import INGEST  # noqa: E402
from shoptrail.testing import free_port  # noqa: E402
from tests.e2e.launcher import LaunchedShop, launch  # noqa: E402
from tests.faults.probes import Answer, Looker, Sender, checkout, open_loop  # noqa: E402

RATES = [int(r) for r in os.environ.get("BENCH_LOAD_RATES", "200").split(",") if r]
ALONE_RATES = [int(r) for r in os.environ.get("BENCH_LOAD_ALONE_RATES", "200,400").split(",") if r]
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
PAGERS = int(os.environ.get("BENCH_LOAD_PAGERS", "20"))
PAGE_EVERY = float(os.environ.get("BENCH_LOAD_PAGE_EVERY", "1"))
"""Seconds between one owner's page turns (0: as fast as the answers come, as bench_feed)."""
TARGET_P99_MS = 50.0
TARGET_LIVE_P99_MS = 250.0
DRAIN_TIMEOUT_S = 1200.0


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _stat_table() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds so far) for every process."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return table


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process and its descendants (PostgreSQL's
    backends are children of its postmaster)."""
    table = _stat_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> Iterator[int]:
        yield pid
        for child in children.get(pid, ()):
            yield from tree(child)

    return {name: sum(table[p][1] for p in tree(pid) if p in table) for name, pid in roots.items()}


def roots(shop: LaunchedShop) -> dict[str, int]:
    """The shop's processes, Kafka and PostgreSQL by name → pid."""
    found = {name: process.pid for name, process in shop.running.items()}
    paths = dataclasses.replace(stack.paths_from_env(), state=shop.state)
    with contextlib.suppress(OSError, ValueError):
        found["kafka"] = int((paths.kafka_dir / "kafka.pid").read_text().strip())
    for pidfile in paths.pg_dir.rglob("postmaster.pid"):
        with contextlib.suppress(OSError, ValueError):
            found["postgres"] = int(pidfile.read_text().split()[0])
    return found


async def live_entries(
    shop: LaunchedShop, wanted: set[str], stop: asyncio.Event
) -> dict[str, float]:
    """A live feed client (as the admin's page): order id → when its order.created arrived."""
    ws_url = shop.urls["activity"].replace("http://", "ws://") + "/ws"
    secret = dev.DEV_SECRETS["activity_ws_secret"]
    arrived: dict[str, float] = {}
    async for now, entry in feed_entries(ws_url, shop.urls["admin-ui"], secret, stop):
        order = entry.get("order_id")
        if entry.get("event_type") == "order.created" and order in wanted:
            arrived.setdefault(order, now)
    return arrived


@dataclasses.dataclass
class Fetched:
    """When each order's order.created record was handed to Kafka and when a consumer got it."""

    produced: dict[str, float] = dataclasses.field(default_factory=dict)
    fetched: dict[str, float] = dataclasses.field(default_factory=dict)


async def probe_kafka(shop: LaunchedShop, ready: asyncio.Event, stop: asyncio.Event) -> Fetched:
    """A consumer of ingest's topic from its end: each record's CreateTime (ingest's producer
    stamps it at send) and when it was fetched here (s since the epoch), by its key (the
    order id). No group: nothing is committed, the shop's consumers are untouched."""
    consumer = AIOKafkaConsumer(
        **kafka_client_options(shop.kafka), group_id=None, enable_auto_commit=False,
        auto_offset_reset="latest", fetch_max_wait_ms=100,
    )  # fmt: skip
    seen = Fetched()
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # as shoptrail.events.reading does
        partitions = [
            TopicPartition(INGEST, p) for p in consumer.partitions_for_topic(INGEST) or ()
        ]
        if not partitions:
            raise RuntimeError(f"no partitions of {INGEST} on the shop's Kafka")
        consumer.assign(partitions)
        for tp, end in (await consumer.end_offsets(partitions)).items():
            consumer.seek(tp, end)
        ready.set()
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in fetched.values():
                for record in records:
                    order = (record.key or b"").decode()
                    seen.produced.setdefault(order, record.timestamp / 1000)
                    seen.fetched.setdefault(order, now)
    finally:
        await consumer.stop()
    return seen


async def loop_lag(stop: asyncio.Event, every: float = 0.01) -> list[float]:
    """How late this process's event loop wakes (ms): it delays every stamp taken here."""
    late: list[float] = []
    while not stop.is_set():
        due = time.perf_counter() + every
        await asyncio.sleep(every)
        late.append((time.perf_counter() - due) * 1000)
    return late


async def commit_stamps(
    dsn: str, orders: list[str], since: float
) -> dict[str, tuple[float, float]]:
    """Order id → (its order.created entry's write transaction began, its change stamped)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT l.order_id, extract(epoch FROM l.inserted_at) AS began,
                   extract(epoch FROM min(c.created_at)) AS stamped
            FROM activity_changes c, unnest(c.entry_ids) AS e(id)
            JOIN activity_log l ON l.id = e.id
            WHERE c.created_at >= to_timestamp($2) AND l.event_type = 'order.created'
              AND l.order_id = ANY($1::text[])
            GROUP BY l.order_id, l.inserted_at
            """,
            orders,
            since,
        )
    finally:
        await conn.close()
    return {r["order_id"]: (float(r["began"]), float(r["stamped"])) for r in rows}


STEPS = (
    "ingest: sent → handed to Kafka",
    "Kafka: handed → fetched by a consumer",
    "consumer: fetched → write began (batch wait, parse)",
    "write: began → change stamped (insert, read model)",
    "commit + NOTIFY + push: stamped → on the socket",
)


def breakdown(
    orders: list[senders.Checkout],
    answers: list[Answer | None],
    kafka: Fetched,
    stamps: dict[str, tuple[float, float]],
    arrived: dict[str, float],
    label: str,
) -> list[Row]:
    """Where webhook → live entry goes, step by step, for orders with every stamp."""
    steps: list[list[float]] = [[] for _ in STEPS]
    whole: list[float] = []
    for made, answer in zip(orders, answers, strict=True):
        order = made.order_id
        if answer is None or order not in kafka.fetched or order not in stamps:
            continue
        if order not in arrived:
            continue
        chain = (answer.sent_at, kafka.produced[order], kafka.fetched[order], *stamps[order],
                 arrived[order])  # fmt: skip
        for n, (start, end) in enumerate(itertools.pairwise(chain)):
            steps[n].append((end - start) * 1000)
        whole.append((chain[-1] - chain[0]) * 1000)
    rows = []
    for name, samples in zip(STEPS, steps, strict=True):
        rows += [
            Row("load", f"  {name} p50 vs whole p50, {label}", quantile(samples, 0.5),
                quantile(whole, 0.5), "ms"),
            Row("load", f"  {name} p99 vs whole p99, {label}", quantile(samples, 0.99),
                quantile(whole, 0.99), "ms"),
        ]  # fmt: skip
    return rows


def answered(answers: list[Answer | None]) -> tuple[list[float], int, int]:
    """(answer times in ms, how many 503, how many got no answer)."""
    times = [a.seconds * 1000 for a in answers if a is not None]
    refused = sum(1 for a in answers if a is not None and a.status == 503)
    return times, refused, sum(a is None for a in answers)


async def baseline(sender: Sender, url: str, rate: int, seconds: float) -> list[float]:
    orders = [checkout("bench-bare") for _ in range(int(rate * seconds))]
    times, _, _ = answered(await open_loop(sender, orders, rate, url=url))
    return times


async def drained(looker: Looker, orders: list[senders.Checkout], since: float) -> float:
    """Seconds from `since` until every order is logged, submitted and mailed."""
    while True:
        outcomes = await looker.outcomes(orders)
        if all(o.complete for o in outcomes.values()):
            return time.monotonic() - since
        if time.monotonic() - since > DRAIN_TIMEOUT_S:
            return float("inf")
        await asyncio.sleep(1.0)


async def turn_pages(
    http: httpx.AsyncClient, every: float, stop: asyncio.Event, latencies: list[float]
) -> None:
    """An owner reading the feed: the first page, then three older ones, a page every
    `every` seconds (the pace of a reader, not a synchronisation)."""
    path, turned = "/admin/activity", 0
    while not stop.is_set():
        started = time.perf_counter()
        response = await http.get(path)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            latencies[-1] = float("inf")  # an error counts as the slowest answer
        turned += 1
        older = OLDER.search(response.text)
        path = older.group(1).replace("&amp;", "&") if older and turned % 4 else "/admin/activity"
        await asyncio.sleep(max(0.0, every - (time.perf_counter() - started)))


async def owners_paging(
    readers: list[httpx.AsyncClient], seconds: float | None, stop: asyncio.Event
) -> list[float]:
    """Every owner paging at PAGE_EVERY (bench_feed's tight loop when 0), for `seconds` or
    until `stop`; their page latencies."""
    if PAGE_EVERY <= 0:
        return await paging(readers, seconds, stop)
    latencies: list[float] = []
    tasks = [asyncio.create_task(turn_pages(h, PAGE_EVERY, stop, latencies)) for h in readers]
    if seconds is not None:
        await asyncio.sleep(seconds)  # a measuring window, not a synchronisation
        stop.set()
    await asyncio.gather(*tasks)
    return latencies


@dataclasses.dataclass
class Owners:
    """Logged-in admin clients paging the feed, and their latencies on the quiet shop."""

    readers: list[httpx.AsyncClient]
    quiet: list[float]


async def owners(shop: LaunchedShop, count: int = PAGERS) -> Owners:
    readers = [httpx.AsyncClient(base_url=shop.urls["admin-ui"], timeout=60) for _ in range(count)]
    for http in readers:  # one after another: the login throttle bounds concurrent verifies
        await log_in(http, *dev.ADMIN_LOGIN)
    return Owners(readers, await owners_paging(readers, 10.0, asyncio.Event()))


async def at_rate(
    shop: LaunchedShop, sender: Sender, looker: Looker, bare: str, rate: int, admin: Owners
) -> tuple[list[Row], float]:
    label = f"{rate}/s for {SECONDS:.0f} s"
    pace = f"{PAGERS} pagers@{PAGE_EVERY:g}s"
    bare_ms = await baseline(sender, bare, rate, SECONDS)
    orders = [checkout(f"bench-{rate}") for _ in range(int(rate * SECONDS))]
    stop = asyncio.Event()
    live = asyncio.create_task(live_entries(shop, {o.order_id for o in orders}, stop))
    probe_ready = asyncio.Event()
    probe = asyncio.create_task(probe_kafka(shop, probe_ready, stop))
    lag = asyncio.create_task(loop_lag(stop))
    await asyncio.wait(
        [probe, asyncio.create_task(probe_ready.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    if probe.done():
        probe.result()  # it failed before it was ready: say why
    processes = roots(shop)
    cpu_before = cpu_seconds(processes)
    stop_paging = asyncio.Event()
    pagers = asyncio.create_task(owners_paging(admin.readers, None, stop_paging))
    began = time.time()
    answers = await open_loop(sender, orders, rate)
    sent_all = time.monotonic()
    stop_paging.set()
    busy = [seconds * 1000 for seconds in await pagers]
    quiet = [seconds * 1000 for seconds in admin.quiet]
    # Only what ingest took can drain: a webhook refused at the door (503) published nothing.
    taken = [o for o, a in zip(orders, answers, strict=True) if a is not None and a.status < 300]
    drain_s = await drained(looker, taken, sent_all)
    cpu_after = cpu_seconds(processes)
    stop.set()
    arrived, kafka, lags = await live, await probe, await lag
    stamps = await commit_stamps(looker.activity_dsn, [o.order_id for o in orders], began - 1)
    times, refused, unanswered = answered(answers)
    to_live = [
        (arrived[o.order_id] - a.sent_at) * 1000
        for o, a in zip(orders, answers, strict=True)
        if a is not None and o.order_id in arrived
    ]
    p99 = quantile(times, 0.99)
    live_p99 = quantile(to_live, 0.99)
    print(
        f"[bench] load: {label}: webhook→2xx p99 {p99:.0f} ms (goal <= {TARGET_P99_MS:.0f}: "
        f"{'held' if p99 <= TARGET_P99_MS else 'NOT held'}), webhook→live entry p99 "
        f"{live_p99:.0f} ms (goal <= {TARGET_LIVE_P99_MS:.0f}: "
        f"{'held' if live_p99 <= TARGET_LIVE_P99_MS else 'NOT held'}); "
        f"{len(taken)}/{len(orders)} taken, {len(to_live)} seen live",
        file=sys.stderr,
        flush=True,
    )
    rows = [
        Row("load", f"webhook→2xx p50, shop vs bare route, {label}",
            quantile(times, 0.5), quantile(bare_ms, 0.5), "ms"),
        Row("load", f"webhook→2xx p99, shop vs bare route, {label}",
            p99, quantile(bare_ms, 0.99), "ms", Goal("<=", 50, on="value")),
        Row("load", f"slowest answer vs the 5 s deadline, {label}", max(times), 5000, "ms"),
        Row("load", f"answered 503 (+{unanswered} unanswered) / sent, {label}",
            refused, len(orders), "webhooks"),
        Row("load", f"drain after the last webhook vs the burst, {label}", drain_s,
            SECONDS, "s"),
        Row("load", f"webhook→live entry p50 vs →2xx p50, {pace}, {label}",
            quantile(to_live, 0.5), quantile(times, 0.5), "ms"),
        Row("load", f"webhook→live entry p99 vs →2xx p99, {label}",
            live_p99, p99, "ms", Goal("<=", 250, on="value")),
        Row("load", f"  live entries seen / webhooks taken (2xx), {label}", len(to_live),
            len(taken), "entries"),
        *breakdown(orders, answers, kafka, stamps, arrived, label),
        Row("load", f"  this process's loop lag p99 vs its p50, {label}",
            quantile(lags, 0.99), quantile(lags, 0.5), "ms"),
        Row("load", f"admin feed page p50, {pace}, burst vs quiet, {label}",
            quantile(busy, 0.5), quantile(quiet, 0.5), "ms"),
        Row("load", f"admin feed page p99, {pace}, burst vs quiet, {label}",
            quantile(busy, 0.99), quantile(quiet, 0.99), "ms"),
    ]  # fmt: skip
    used = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    total = sum(used.values())
    for name, seconds in sorted(used.items(), key=lambda item: -item[1]):
        rows.append(
            Row("load", f"CPU ms/order: {name} vs all, {label}",
                seconds * 1000 / len(orders), total * 1000 / len(orders), "ms")
        )  # fmt: skip
    return rows, p99


def capacity(p99_by_rate: dict[int, float]) -> float:
    """The highest measured rate whose p99 stayed within the target (0 if none did)."""
    return max((r for r, p99 in p99_by_rate.items() if p99 <= TARGET_P99_MS), default=0)


async def run_async() -> list[Row]:
    rows: list[Row] = []
    bare_port = free_port()
    bare = f"http://127.0.0.1:{bare_port}/webhooks/stripe"
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as state,
        service(
            [sys.executable, str(Path(__file__).with_name("bare_route.py")), str(bare_port)],
            {},
            f"http://127.0.0.1:{bare_port}/healthz",
        ),
    ):
        print("[bench] load: starting the whole shop…", flush=True)
        async with launch(Path(state)) as shop:
            sender, looker = Sender(shop), Looker(shop)
            admin = await owners(shop)
            shop_p99: dict[int, float] = {}
            for rate in RATES:
                print(f"[bench] load: whole shop, {rate} orders/s for {SECONDS:.0f} s…", flush=True)
                measured, shop_p99[rate] = await at_rate(shop, sender, looker, bare, rate, admin)
                rows += measured
            for name in [n for n in shop.running if n != "ingest"]:
                await shop.stop(name)
            alone_p99: dict[int, float] = {}
            for rate in ALONE_RATES:
                print(f"[bench] load: ingest alone, {rate}/s…", flush=True)
                bare_ms = await baseline(sender, bare, rate, SECONDS)
                orders = [checkout("bench-alone") for _ in range(int(rate * SECONDS))]
                times, refused, _ = answered(await open_loop(sender, orders, rate))
                alone_p99[rate] = quantile(times, 0.99)
                label = f"{rate}/s for {SECONDS:.0f} s"
                rows += [
                    Row("load", f"ingest alone: webhook→answer p99 vs bare route, {label}",
                        alone_p99[rate], quantile(bare_ms, 0.99), "ms"),
                    Row("load", f"ingest alone: answered 503 / sent, {label}", refused,
                        len(orders), "webhooks"),
                ]  # fmt: skip
            rows.append(
                Row("load", f"capacity (p99 ≤ {TARGET_P99_MS:.0f} ms): whole shop vs ingest alone",
                    capacity(shop_p99), capacity(alone_p99), "orders/s")
            )  # fmt: skip
            await sender.aclose()
            await looker.aclose()
            for http in admin.readers:
                await http.aclose()
    return rows


def run() -> list[Row]:
    return asyncio.run(run_async())
