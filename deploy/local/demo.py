"""Demo traffic for a running Shoptrail (`make dev` starts it for you).

Drives the shop only through its public doors: signed Stripe, Printify,
Printful and email-provider webhooks to ingest; the fake provider's `/_fake/*`
control API (to make a submission or a sync fail, and to move orders along at
the "provider"); and the admin actions the shop owner has (notifier settings,
"run a product sync" on fulfilment). It reads the activity API only to wait
for something a real customer would also wait for (a recovery email).

    uv run python deploy/local/demo.py --once          # one of each story, then exit
    uv run python deploy/local/demo.py --rate 6 --duration 10m
    uv run python deploy/local/demo.py --prepare-only  # sender, cart recovery, products

URLs and secrets are dev.py's (SHOPTRAIL_PORT_BASE moves the ports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import demo_stories as stories
from demo_doors import Shop, ShopUrls

STORIES: dict[str, Callable[[Shop, random.Random], Awaitable[dict[str, Any]]]] = {
    "delivered": stories.delivered,
    "submission_retried": stories.submission_retried,
    "submission_gave_up": stories.submission_gave_up,
    "sync_failed": stories.sync_failed,
    "cart_abandoned": stories.cart_abandoned,
    "checkout_left_blank": stories.checkout_left_blank,
    "cart_recovered": stories.cart_recovered,
    "bounce": stories.bounce,
    "partial_refund": stories.partial_refund,
    "cancelled_and_refunded": stories.cancelled_and_refunded,
}
WEIGHTS = {
    "delivered": 6.0,
    "submission_retried": 1.0,
    "submission_gave_up": 0.3,
    "sync_failed": 0.4,
    "cart_abandoned": 1.5,
    "checkout_left_blank": 0.7,
    "cart_recovered": 0.8,
    "bounce": 0.5,
    "partial_refund": 0.5,
    "cancelled_and_refunded": 0.5,
}


def duration(text: str) -> float:
    """`90`, `90s`, `15m`, `2h` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1:] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}") from None


async def run_story(name: str, shop: Shop, rng: random.Random) -> dict[str, Any]:
    """Run one story; a failure is reported and returned, never raised."""
    started = time.monotonic()
    try:
        facts = await STORIES[name](shop, rng)
    except Exception as exc:
        shop.say(f"{name}: FAILED — {type(exc).__name__}: {exc}")
        return {"story": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    shop.say(f"{name}: done in {time.monotonic() - started:.0f}s")
    return {"story": name, "ok": True, **facts}


async def once(shop: Shop, rng: random.Random, names: list[str]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(run_story(n, shop, rng) for n in names)))


async def continuous(
    shop: Shop, rng: random.Random, *, rate: float, seconds: float | None
) -> list[dict[str, Any]]:
    """One of each story first, then a random mix at `rate` stories a minute."""
    tasks = [asyncio.create_task(run_story(n, shop, rng)) for n in STORIES]
    deadline = None if seconds is None else time.monotonic() + seconds
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    try:
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(rng.expovariate(rate / 60.0))
            name = rng.choices(names, weights)[0]
            tasks.append(asyncio.create_task(run_story(name, shop, rng)))
        shop.say("duration reached; letting running stories finish")
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


async def main_async(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    async with Shop(ShopUrls.from_env()) as shop:
        await shop.wait_until_up()
        await shop.prepare()
        if args.prepare_only:
            return 0
        if args.once:
            results = await once(shop, rng, args.story or list(STORIES))
        else:
            seconds = args.duration if args.duration else None
            results = await continuous(shop, rng, rate=args.rate, seconds=seconds)
    if args.summary:
        args.summary.write_text(json.dumps(results, indent=2))
    failed = [r for r in results if not r["ok"]]
    shop.say(f"{len(results) - len(failed)} stories done, {len(failed)} failed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--once", action="store_true", help="one of each story, then exit")
    parser.add_argument(
        "--story", action="append", choices=list(STORIES), help="with --once: only these stories"
    )
    parser.add_argument(
        "--rate", type=float, default=4.0, help="stories started per minute (default 4)"
    )
    parser.add_argument(
        "--duration",
        type=duration,
        default=None,
        help="stop starting stories after this long: 90s, 15m, 2h (default: until Ctrl-C)",
    )
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable mix")
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="only set the sender, turn cart recovery on and stock the fake provider",
    )
    parser.add_argument("--summary", type=Path, help="write what each story did as JSON here")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
