"""The Printify and Printful adapters against the fake provider's HTTP API."""

from __future__ import annotations

import httpx
import pytest

from shoptrail.fulfilment.adapters.providers.printful import PrintfulProvider
from shoptrail.fulfilment.adapters.providers.printify import PrintifyProvider
from shoptrail.fulfilment.devtools.fake_provider import FakeProvider, Fault, StatusChange
from shoptrail.fulfilment.domain.model import Order, OrderStatus
from shoptrail.fulfilment.service_layer.ports import ProviderError

ORDER = Order(
    order_id="ord_a1",
    order_number="SS-1",
    provider="Printful",
    status=OrderStatus.RECEIVED,
    details={
        "line_items": [{"product_id": "tee", "quantity": 2}],
        "shipping_address": {
            "name": "Sam Customer",
            "line1": "1 High St",
            "city": "Bristol",
            "postal_code": "BS1",
            "country": "GB",
        },
        "customer_email": "c@example.com",
    },
)


def client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer t"}, timeout=0.5)


async def test_printful_finds_orders_by_external_id_and_reports_tracking(
    fake: FakeProvider, provider_url: str
) -> None:
    async with client(provider_url) as http:
        printful = PrintfulProvider(http)
        assert await printful.find_order("ord_a1") is None
        provider_id = await printful.submit_order(ORDER)
        with pytest.raises(ProviderError, match="same external ID") as duplicate:
            await printful.submit_order(ORDER)
        assert duplicate.value.retryable is False
        fake.change_status(
            provider_id,
            StatusChange(
                status="fulfilled", carrier="USPS", tracking_number="9400", tracking_url="u"
            ),
        )
        found = await printful.find_order("ord_a1")
    assert found is not None and found.provider_order_id == provider_id
    assert found.status is OrderStatus.SHIPPED
    assert (found.tracking.carrier, found.tracking.number) == ("USPS", "9400")
    (sent,) = fake.orders_with_external_id("ord_a1")
    assert sent["request"]["items"] == [{"external_variant_id": "tee", "quantity": 2}]


async def test_a_rate_limit_carries_retry_after(fake: FakeProvider, provider_url: str) -> None:
    fake.plan(Fault(kind="rate_limit", retry_after=7))
    async with client(provider_url) as http:
        with pytest.raises(ProviderError) as limited:
            await PrintifyProvider(http, shop_id="1").submit_order(ORDER)
    assert limited.value.retry_after == 7
    assert limited.value.retryable is True
    assert "rate limit" in limited.value.reason


async def test_printify_pages_through_products(fake: FakeProvider, provider_url: str) -> None:
    fake.products["Printify"] = [{"id": f"p{i}", "title": f"Tee {i}"} for i in range(120)]
    async with client(provider_url) as http:
        products = await PrintifyProvider(http, shop_id="1").list_products()
    assert [p.product_id for p in products] == [f"p{i}" for i in range(120)]
