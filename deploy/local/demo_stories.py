"""The demo's stories: what happens to real shops, one coroutine each.

Each story returns what it did (order ids, emails) so a test or a curious
person can look them up in the activity log.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import senders
from demo_doors import Shop
from senders import Checkout, Customer, Item, ProviderName, Status

CATALOGUE: dict[ProviderName, tuple[Item, ...]] = {
    "Printify": (
        Item("pfy-tee-sunset", "Sunset Tee", 2500, "M / Navy"),
        Item("pfy-tee-sunset", "Sunset Tee", 2500, "L / Sand"),
        Item("pfy-mug-fox", "Fox Mug", 1400, "11oz"),
    ),
    "Printful": (
        Item("pf-hoodie-wave", "Wave Hoodie", 4500, "M / Black"),
        Item("pf-poster-peak", "Peak Poster", 1800, "A2"),
    ),
}
STEPS_TO_DELIVERY: tuple[Status, ...] = ("in_production", "shipped", "delivered")
FIRST = ("Ada", "Ben", "Chloe", "Dev", "Esme", "Farah", "Gus", "Hana", "Iris", "Jon", "Kemi")
LAST = ("Okafor", "Smith", "Nguyen", "Patel", "Jones", "Kowalski", "Murphy", "Silva", "Evans")
TOWNS = (
    ("Bristol", "BS1 4DJ"),
    ("Leeds", "LS1 5AB"),
    ("Glasgow", "G1 2FF"),
    ("Cardiff", "CF10 1EP"),
)


def customer(rng: random.Random, *, domain: str = "example.com") -> Customer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    town, postcode = rng.choice(TOWNS)
    tag = rng.randrange(1000, 9999)
    return Customer(
        name=f"{first} {last}",
        email=f"{first}.{last}{tag}@{domain}".lower(),
        line1=f"{rng.randrange(1, 200)} {rng.choice(('High St', 'Mill Lane', 'Park Road'))}",
        city=town,
        postal_code=postcode,
    )


def checkout(
    rng: random.Random, buyer: Customer | None = None, provider: ProviderName | None = None
) -> Checkout:
    providers: tuple[ProviderName, ...] = ("Printify", "Printful")
    chosen = rng.choice(providers) if provider is None else provider
    items = tuple(rng.sample(CATALOGUE[chosen], k=rng.randint(1, 2)))
    return Checkout(customer=buyer or customer(rng), items=items, provider=chosen)


async def pause(rng: random.Random, low: float = 1.0, high: float = 3.0) -> None:
    """Time passing between one step and the next (short: it is a demo)."""
    await asyncio.sleep(rng.uniform(low, high))


async def place_order(shop: Shop, order: Checkout) -> dict[str, Any]:
    """The customer pays; returns the provider's order once fulfilment submitted it."""
    async with shop.submissions:
        await shop.stripe(order, senders.checkout_completed(order))
        shop.say(f"order {order.order_number} paid by {_email(order)} ({order.provider})")
        return await shop.provider_order(order.order_id)


def _email(order: Checkout) -> str:
    return order.customer.email if order.customer else "(no email)"


def _facts(order: Checkout, **more: Any) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "email": _email(order),
        "provider": order.provider,
        **more,
    }


async def delivered(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """Paid → submitted → in production → shipped → delivered."""
    order = checkout(rng)
    at_provider = await place_order(shop, order)
    for status in STEPS_TO_DELIVERY:
        await pause(rng)
        await shop.move_at_provider(order, at_provider, status)
        shop.say(f"order {order.order_number}: {status.replace('_', ' ')}")
    return _facts(order)


async def submission_retried(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """The provider answers 503 once; fulfilment retries after a back-off and gets through."""
    order = checkout(rng)
    async with shop.submissions:
        await shop.plan_fault(
            kind="error", operation="create_order", times=1, status=503,
            message=f"{order.provider} is temporarily unavailable",
        )  # fmt: skip
        await shop.stripe(order, senders.checkout_completed(order))
        shop.say(f"order {order.order_number} paid; its provider will refuse it once")
        at_provider = await shop.provider_order(order.order_id)
    await pause(rng)
    await shop.move_at_provider(order, at_provider, "in_production")
    return _facts(order)


async def submission_gave_up(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """Every attempt fails: the order needs the shop owner ("Retry submission")."""
    order = checkout(rng)
    async with shop.submissions:
        await shop.plan_fault(
            kind="error", operation="create_order", times=3, status=502,
            message="Bad gateway from the print provider",
        )  # fmt: skip
        await shop.stripe(order, senders.checkout_completed(order))
        shop.say(f"order {order.order_number} paid; its provider will refuse every attempt")
        await shop.wait_for_entry(
            "job.exhausted", {"order_id": order.order_id}, timeout=90, category="system"
        )
    shop.say(f"order {order.order_number} gave up: it now needs attention")
    return _facts(order)


async def sync_failed(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """A product sync fails at the provider; a later one succeeds (and resolves the error).

    Syncs run one at a time (`shop.syncs`): the planned fault hits the next product
    listing at either provider, so no other sync may be in flight.
    """
    provider: ProviderName = rng.choice(("Printify", "Printful"))
    async with shop.syncs:
        await shop.plan_fault(
            kind="error", operation="list_products", times=1, status=500,
            message=f"{provider} could not list products",
        )  # fmt: skip
        failed_job = await shop.request_sync(provider)
        shop.say(f"product sync with {provider} requested; it will fail")
        await pause(rng, 4, 6)
        ok_job = await shop.request_sync(provider)
        await pause(rng, 2, 3)
    return {"provider": provider, "failed_job": failed_job, "ok_job": ok_job}


async def cart_abandoned(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """A checkout expires unpaid after the customer typed an email: a recovery email follows."""
    cart = checkout(rng, customer(rng))
    await shop.stripe(cart, senders.checkout_expired(cart))
    shop.say(f"checkout {cart.session_id[-8:]} expired ({_email(cart)})")
    return {"email": _email(cart), "session_id": cart.session_id}


async def checkout_left_blank(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """A checkout expires before the customer typed anything: nobody to write to."""
    cart = Checkout(customer=None, items=checkout(rng).items)
    await shop.stripe(cart, senders.checkout_expired(cart))
    shop.say(f"checkout {cart.session_id[-8:]} expired with no email")
    return {"session_id": cart.session_id}


async def cart_recovered(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """A checkout expires, the recovery email goes out, the customer comes back and pays."""
    buyer = customer(rng)
    cart = checkout(rng, buyer)
    await shop.stripe(cart, senders.checkout_expired(cart))
    shop.say(f"checkout expired for {buyer.email}; waiting for the recovery email")
    await shop.wait_for_entry(
        "abandoned_cart.email_sent", {"recipient": buyer.email}, timeout=150, category="carts"
    )
    await pause(rng)
    order = checkout(rng, buyer, cart.provider)
    await place_order(shop, order)
    return _facts(order, session_id=cart.session_id)


async def bounce(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """The confirmation email bounces: the address does not exist."""
    order = checkout(rng, customer(rng, domain="no-such-mailbox.example"))
    await place_order(shop, order)
    await shop.wait_for_entry(
        "order.email.confirmation_sent", {"order_id": order.order_id}, timeout=60
    )
    await shop.email_webhook(
        senders.email_bounce(
            _email(order), order_id=order.order_id, email_kind="order_confirmation",
            reason="550 5.1.1 The email account that you tried to reach does not exist",
        )
    )  # fmt: skip
    shop.say(f"confirmation to {_email(order)} bounced")
    return _facts(order)


async def partial_refund(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """Delivered late: the shop refunds part of the price as a goodwill gesture."""
    order = checkout(rng)
    at_provider = await place_order(shop, order)
    for status in STEPS_TO_DELIVERY:
        await pause(rng)
        await shop.move_at_provider(order, at_provider, status)
    await pause(rng)
    amount = min(500, order.total)
    await shop.stripe(order, senders.charge_refunded(order, amount=amount))
    shop.say(f"order {order.order_number}: refunded {amount / 100:.2f} of {order.total / 100:.2f}")
    return _facts(order, refunded=amount)


async def cancelled_and_refunded(shop: Shop, rng: random.Random) -> dict[str, Any]:
    """The provider cancels the order (out of stock); the shop refunds it in full."""
    order = checkout(rng)
    at_provider = await place_order(shop, order)
    await pause(rng)
    await shop.move_at_provider(order, at_provider, "cancelled")
    shop.say(f"order {order.order_number}: cancelled by {order.provider}")
    await pause(rng)
    await shop.stripe(order, senders.charge_refunded(order, amount=order.total))
    return _facts(order, refunded=order.total)
