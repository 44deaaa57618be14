"""The Stripe API through the official SDK's `StripeClient` (async, over httpx)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import stripe

from shoptrail.ingest.domain.errors import UpstreamUnavailableError
from shoptrail.ingest.domain.facts import validate_as
from shoptrail.ingest.domain.stripe_objects import CheckoutSession, StripeLineItem
from shoptrail.ingest.service_layer.ports import StripeApi

PAGE_SIZE = 100


class StripeSdkApi(StripeApi):
    """`StripeApi` over the Stripe SDK; network or server failures raise `UpstreamUnavailableError`.

    `api_base` is Stripe's (`https://api.stripe.com`) in production and a local
    stand-in server in tests.
    """

    def __init__(self, api_key: str, *, api_base: str, timeout: float, max_retries: int = 1):
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=max_retries,
        )

    async def checkout_line_items(self, session_id: str) -> Sequence[StripeLineItem]:
        try:
            page = await self._client.v1.checkout.sessions.line_items.list_async(
                session_id, {"limit": PAGE_SIZE, "expand": ["data.price.product"]}
            )
            return [
                validate_as(StripeLineItem, item.to_dict(), "Stripe line item")
                async for item in page.auto_paging_iter()
            ]
        except stripe.StripeError as exc:
            raise UpstreamUnavailableError(f"Stripe API: {exc.user_message or exc}") from exc

    async def checkout_session_for_payment_intent(
        self, payment_intent: str
    ) -> CheckoutSession | None:
        try:
            page = await self._client.v1.checkout.sessions.list_async(
                {"payment_intent": payment_intent, "limit": 1}
            )
        except stripe.StripeError as exc:
            raise UpstreamUnavailableError(f"Stripe API: {exc.user_message or exc}") from exc
        for session in page.data:
            return validate_as(CheckoutSession, session.to_dict(), "checkout session")
        return None

    async def undelivered_events(
        self, *, since: datetime, types: Sequence[str]
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            page = await self._client.v1.events.list_async(
                {
                    "delivery_success": False,
                    "created": {"gte": int(since.timestamp())},
                    "types": list(types),
                    "limit": PAGE_SIZE,
                }
            )
            async for event in page.auto_paging_iter():
                yield event.to_dict()
        except stripe.StripeError as exc:
            raise UpstreamUnavailableError(f"Stripe API: {exc.user_message or exc}") from exc

    async def close(self) -> None:
        """Close the underlying HTTP connections."""
        await self._http.close_async()  # type: ignore[no-untyped-call]
