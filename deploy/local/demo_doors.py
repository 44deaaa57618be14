"""The shop's public doors, as the demo uses them: webhooks in, fake provider, admin actions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import senders
from dev import DEV_SECRETS, Ports, url
from senders import Checkout, ProviderName, Status

ALERTS_TO = "owner@samsprints.example"
"""Where `make dev` sends the owner's alerts (the dev SMTP sink keeps them)."""

PRODUCTS: dict[ProviderName, list[dict[str, Any]]] = {
    "Printify": [
        {"id": "pfy-tee-sunset", "title": "Sunset Tee", "variants": [{"id": 1, "price": 2500}]},
        {"id": "pfy-mug-fox", "title": "Fox Mug", "variants": [{"id": 2, "price": 1400}]},
    ],
    "Printful": [
        {"id": 9001, "external_id": "pf-hoodie-wave", "name": "Wave Hoodie", "synced": 1},
        {"id": 9002, "external_id": "pf-poster-peak", "name": "Peak Poster", "synced": 1},
    ],
}


@dataclass(frozen=True)
class ShopUrls:
    """Where each door is, and the secrets it wants (dev.py's table)."""

    ingest: str
    activity: str
    fulfilment: str
    notifier: str
    fake_provider: str
    fake_stripe: str
    secrets: dict[str, str]

    @staticmethod
    def from_env() -> ShopUrls:
        ports = Ports(int(os.environ.get("SHOPTRAIL_PORT_BASE", "8000")))
        return ShopUrls(
            ingest=url(ports.ingest),
            activity=url(ports.activity),
            fulfilment=url(ports.fulfilment),
            notifier=url(ports.notifier),
            fake_provider=url(ports.fake_provider),
            fake_stripe=url(ports.fake_stripe),
            secrets=dict(DEV_SECRETS),
        )


class DoorError(Exception):
    """A door answered something other than success."""


class Shop:
    """One HTTP client for every door, plus the locks that keep planned faults on target."""

    def __init__(self, urls: ShopUrls) -> None:
        self.urls = urls
        self.http = httpx.AsyncClient(timeout=20)
        # Planned provider faults hit "the next calls": while one story plans a fault and
        # places its order, no other story's order may reach the provider.
        self.submissions = asyncio.Lock()
        self.syncs = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.http.aclose()

    def say(self, message: str) -> None:
        print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def _bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.urls.secrets[f'{name}_token']}"}

    async def _check(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise DoorError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    # --- webhooks to ingest ---------------------------------------------------

    async def stripe(self, checkout: Checkout, event: dict[str, Any]) -> None:
        """Stripe's webhook about `checkout`, once Stripe's API knows the checkout.

        The webhook leaves out the line items (and a refund the shop's metadata), as
        Stripe's do, so ingest looks them up in the (fake) Stripe API every time.
        """
        held = senders.stripe_checkout(checkout)
        held["status"] = event["data"]["object"].get("status") or "complete"
        response = await self.http.put(
            f"{self.urls.fake_stripe}/_fake/checkouts/{checkout.session_id}", json=held
        )
        await self._check(response, "tell the Stripe API about the checkout")
        body = senders.encode(event)
        signature = senders.stripe_signature(body, self.urls.secrets["stripe_webhook_secret"])
        response = await self.http.post(
            f"{self.urls.ingest}/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": signature, "content-type": "application/json"},
        )
        await self._check(response, f"Stripe {event['type']}")

    async def provider_webhook(self, provider: ProviderName, body: dict[str, Any]) -> None:
        raw = senders.encode(body)
        if provider == "Printify":
            secret = self.urls.secrets["printify_webhook_secret"]
            headers = {"X-Pfy-Signature": senders.printify_signature(raw, secret)}
        else:
            secret = self.urls.secrets["printful_webhook_secret_key"]
            headers = {"x-pf-webhook-signature": senders.printful_signature(raw, secret)}
        response = await self.http.post(
            f"{self.urls.ingest}/webhooks/{provider.lower()}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )
        await self._check(response, f"{provider} webhook")

    async def email_webhook(self, body: dict[str, Any]) -> None:
        raw = senders.encode(body)
        headers = senders.standard_webhook_headers(raw, self.urls.secrets["email_webhook_secret"])
        response = await self.http.post(
            f"{self.urls.ingest}/webhooks/email",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )
        await self._check(response, "email-provider webhook")

    # --- the fake provider ------------------------------------------------------

    async def plan_fault(self, **fault: Any) -> None:
        response = await self.http.post(f"{self.urls.fake_provider}/_fake/faults", json=fault)
        await self._check(response, "plan a provider fault")

    async def provider_order(self, order_id: str, *, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the provider holds an order for `order_id` (fulfilment submitted it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.http.get(f"{self.urls.fake_provider}/_fake/orders")
            for order in await self._check(response, "list provider orders"):
                if order["external_id"] == order_id:
                    found: dict[str, Any] = order
                    return found
            await asyncio.sleep(0.5)
        raise DoorError(f"the provider never received order {order_id} in {timeout:.0f}s")

    async def move_at_provider(
        self, checkout: Checkout, provider_order: dict[str, Any], status: Status
    ) -> None:
        """The provider moves the order on: its own record changes, then it sends the webhook."""
        provider_order_id = str(provider_order["id"])
        tracking: dict[str, str | None] = {"carrier": None}
        if status in ("shipped", "delivered"):
            number = f"1Z{checkout.order_id[-6:].upper()}{provider_order_id[-4:]}"
            tracking = {
                "carrier": "Royal Mail" if checkout.provider == "Printful" else "DHL",
                "tracking_number": number,
                "tracking_url": f"https://track.example.com/{number}",
            }
        words = {
            "in_production": "in-production",
            "shipped": "fulfilled",
            "delivered": "delivered",
            "cancelled": "canceled",
        }
        change = {"status": words[status], "delivered": status == "delivered", **tracking}
        response = await self.http.post(
            f"{self.urls.fake_provider}/_fake/orders/{provider_order_id}/status", json=change
        )
        await self._check(response, "move the order at the provider")
        build = (
            senders.printify_event if checkout.provider == "Printify" else senders.printful_event
        )
        body = build(
            status, provider_order_id=provider_order_id, order_id=checkout.order_id, **tracking
        )
        await self.provider_webhook(checkout.provider, body)

    # --- the shop owner's admin actions -------------------------------------

    async def prepare(self) -> None:
        """What a shop owner sets up once: sender, cart recovery on, alerts; the providers'
        products."""
        response = await self.http.put(
            f"{self.urls.notifier}/settings",
            headers=self._bearer("notifier"),
            json={
                "sender_name": "Sam's Prints",
                "sender_address": "hello@samsprints.example",
                "recovery_enabled": True,
            },
        )
        await self._check(response, "notifier settings")
        response = await self.http.put(  # the owner hears about errors: one email, then digests
            f"{self.urls.notifier}/settings/alerts",
            headers=self._bearer("notifier"),
            json={"enabled": True, "email": ALERTS_TO, "digest_minutes": 1},
        )
        await self._check(response, "alert settings")
        for provider, items in PRODUCTS.items():
            response = await self.http.put(
                f"{self.urls.fake_provider}/_fake/products/{provider}", json=items
            )
            await self._check(response, "fake provider products")
        self.say(
            "shop prepared: sender set, cart recovery on, alerts to "
            f"{ALERTS_TO} (1-minute digest), provider catalogues stocked"
        )

    async def request_sync(self, provider: ProviderName) -> int | None:
        """ "Run a product sync now" (409 when one is already queued: that one will do)."""
        response = await self.http.post(
            f"{self.urls.fulfilment}/syncs",
            headers=self._bearer("fulfilment"),
            json={"provider": provider},
        )
        if response.status_code == 409:
            return None
        job: dict[str, Any] = await self._check(response, "request a product sync")
        return int(job["job_id"])

    # --- reading the log (only to wait, as a customer would) -------------------

    async def feed(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"{self.urls.activity}/api/feed",
            params={"limit": 200, "include_debug": "true", **params},
            headers=self._bearer("activity"),
        )
        page: dict[str, Any] = await self._check(response, "activity feed")
        entries: list[dict[str, Any]] = page["entries"]
        return entries

    async def wait_for_entry(
        self, event_type: str, match: dict[str, Any], *, timeout: float, **params: Any
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in await self.feed(**params):
                payload = entry["payload"]
                if entry["event_type"] == event_type and all(
                    payload.get(k) == v for k, v in match.items()
                ):
                    return entry
            await asyncio.sleep(1)
        raise DoorError(f"no {event_type} matching {match} within {timeout:.0f}s")

    async def wait_until_up(self, timeout: float = 60.0) -> None:
        """Every door answers (the demo may start together with the services)."""
        doors = [
            f"{self.urls.ingest}/healthz",
            f"{self.urls.activity}/healthz",
            f"{self.urls.fulfilment}/healthz",
            f"{self.urls.notifier}/healthz",
            f"{self.urls.fake_provider}/_fake/orders",
        ]
        deadline = time.monotonic() + timeout
        for door in doors:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await self.http.get(door)).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise DoorError(f"{door} does not answer")
                await asyncio.sleep(0.5)
