"""Printify's REST API (v1): orders carry our order id as `external_id`."""

from __future__ import annotations

from typing import Any

import httpx

from shoptrail.fulfilment.adapters.providers.http import request
from shoptrail.fulfilment.domain.model import (
    Order,
    OrderStatus,
    Product,
    ProviderName,
    ProviderOrder,
    Tracking,
    parse_reported_status,
)
from shoptrail.fulfilment.domain.problems import Scope
from shoptrail.fulfilment.service_layer.ports import Provider

LOOKUP_PAGES = 3
"""How many pages of recent orders `find_order` searches (Printify has no external-id query)."""


def _reason(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, dict) and errors.get("reason"):
        return str(errors["reason"])
    return str(body["message"]) if body.get("message") else None


def _address(order: Order) -> dict[str, Any]:
    address = order.details.get("shipping_address") or {}
    first, _, last = str(address.get("name", "")).partition(" ")
    return {
        "first_name": first,
        "last_name": last,
        "email": order.details.get("customer_email"),
        "country": address.get("country"),
        "region": address.get("state") or "",
        "address1": address.get("line1"),
        "address2": address.get("line2") or "",
        "city": address.get("city"),
        "zip": address.get("postal_code"),
    }


def _order(body: dict[str, Any]) -> ProviderOrder:
    shipments = body.get("shipments") or []
    status = parse_reported_status(str(body.get("status", "")))
    tracking = Tracking()
    if shipments:
        last = shipments[-1]
        tracking = Tracking(
            carrier=last.get("carrier"), number=last.get("number"), url=last.get("url")
        )
        if all(s.get("delivered_at") for s in shipments):
            status = OrderStatus.DELIVERED
    external = body.get("external_id") or (body.get("metadata") or {}).get("shop_order_id")
    return ProviderOrder(
        provider_order_id=str(body["id"]),
        external_id=None if external is None else str(external),
        status=status,
        tracking=tracking,
    )


class PrintifyProvider(Provider):
    """`client` has Printify's base URL and the shop token; `shop_id` picks the shop."""

    name: ProviderName = "Printify"

    def __init__(self, client: httpx.AsyncClient, *, shop_id: str) -> None:
        self._client = client
        self._shop_id = shop_id
        self._shop = f"/v1/shops/{shop_id}"

    async def submit_order(self, order: Order) -> str:
        body = {
            "external_id": order.order_id,
            "label": order.order_number,
            "line_items": [
                {"sku": item["product_id"], "quantity": item["quantity"]}
                for item in order.details.get("line_items", [])
            ],
            "shipping_method": 1,
            "send_shipping_notification": False,
            "address_to": _address(order),
        }
        response = await self._call(
            "POST", f"{self._shop}/orders.json", scope="orders.write", of_shop=True, json=body
        )
        return str(response.json()["id"])

    async def find_order(self, external_id: str) -> ProviderOrder | None:
        for page in range(1, LOOKUP_PAGES + 1):
            response = await self._call(
                "GET",
                f"{self._shop}/orders.json",
                scope="orders.read",
                of_shop=True,
                params={"page": page, "limit": 50},
            )
            body = response.json()
            for found in map(_order, body.get("data", [])):
                if found.external_id == external_id:
                    return found
            if page >= int(body.get("last_page", 1)):
                break
        return None

    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        # A 404 here is about the order, not the shop: no `of_shop`.
        response = await self._call(
            "GET", f"{self._shop}/orders/{provider_order_id}.json", scope="orders.read"
        )
        return _order(response.json())

    async def list_products(self) -> list[Product]:
        products: list[Product] = []
        page = 1
        while True:
            response = await self._call(
                "GET",
                f"{self._shop}/products.json",
                scope="products.read",
                of_shop=True,
                params={"page": page, "limit": 50},
            )
            body = response.json()
            products += [
                Product(
                    provider=self.name,
                    product_id=str(item["id"]),
                    title=str(item.get("title", "")),
                    data={"variants": item.get("variants", []), "visible": item.get("visible")},
                )
                for item in body.get("data", [])
            ]
            if page >= int(body.get("last_page", 1)):
                return products
            page += 1

    async def _call(
        self, method: str, url: str, *, scope: Scope, of_shop: bool = False, **options: Any
    ) -> httpx.Response:
        """`of_shop`: `url` is one of the shop's collections, there whenever the shop is."""
        return await request(
            self._client,
            self.name,
            method,
            url,
            reason_of=_reason,
            scope=scope,
            shop=self._shop_id if of_shop else None,
            **options,
        )
