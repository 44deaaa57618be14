"""Printful's REST API: orders carry our order id as `external_id`, found with `@id`."""

from __future__ import annotations

from typing import Any

import httpx

from shoptrail.fulfilment.adapters.providers.http import request
from shoptrail.fulfilment.domain.model import (
    Order,
    Product,
    ProviderName,
    ProviderOrder,
    Tracking,
    parse_reported_status,
)
from shoptrail.fulfilment.domain.problems import Scope
from shoptrail.fulfilment.service_layer.ports import Provider


def _reason(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(body["result"]) if isinstance(body.get("result"), str) else None


def _recipient(order: Order) -> dict[str, Any]:
    address = order.details.get("shipping_address") or {}
    return {
        "name": address.get("name"),
        "address1": address.get("line1"),
        "address2": address.get("line2"),
        "city": address.get("city"),
        "state_code": address.get("state"),
        "country_code": address.get("country"),
        "zip": address.get("postal_code"),
        "email": order.details.get("customer_email"),
    }


def _order(result: dict[str, Any]) -> ProviderOrder:
    shipments = result.get("shipments") or []
    last = shipments[-1] if shipments else {}
    return ProviderOrder(
        provider_order_id=str(result["id"]),
        external_id=result.get("external_id"),
        status=parse_reported_status(str(result.get("status", ""))),
        tracking=Tracking(
            carrier=last.get("carrier"),
            number=None if last.get("tracking_number") is None else str(last["tracking_number"]),
            url=last.get("tracking_url"),
        ),
    )


class PrintfulProvider(Provider):
    """`client` has Printful's base URL and the store token."""

    name: ProviderName = "Printful"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def submit_order(self, order: Order) -> str:
        body = {
            "external_id": order.order_id,
            "recipient": _recipient(order),
            "items": [
                {"external_variant_id": item["product_id"], "quantity": item["quantity"]}
                for item in order.details.get("line_items", [])
            ],
        }
        response = await self._call(
            "POST", "/orders", scope="orders.write", params={"confirm": "true"}, json=body
        )
        return str(response.json()["result"]["id"])

    async def find_order(self, external_id: str) -> ProviderOrder | None:
        response = await self._call(
            "GET", f"/orders/@{external_id}", scope="orders.read", allow=frozenset({404})
        )
        if response.status_code == 404:
            return None
        return _order(response.json()["result"])

    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        response = await self._call("GET", f"/orders/{provider_order_id}", scope="orders.read")
        return _order(response.json()["result"])

    async def list_products(self) -> list[Product]:
        products: list[Product] = []
        while True:
            response = await self._call(
                "GET",
                "/store/products",
                scope="products.read",
                params={"offset": len(products), "limit": 100},
            )
            body = response.json()
            page = body.get("result", [])
            products += [
                Product(
                    provider=self.name,
                    product_id=str(item["id"]),
                    title=str(item.get("name", "")),
                    data={
                        "external_id": item.get("external_id"),
                        "variants": item.get("variants"),
                        "synced": item.get("synced"),
                    },
                )
                for item in page
            ]
            total = int((body.get("paging") or {}).get("total", len(products)))
            if not page or len(products) >= total:
                return products

    async def _call(
        self,
        method: str,
        url: str,
        *,
        scope: Scope,
        allow: frozenset[int] = frozenset(),
        **options: Any,
    ) -> httpx.Response:
        # A private token belongs to one store: there is no store id of ours to get wrong.
        return await request(
            self._client,
            self.name,
            method,
            url,
            reason_of=_reason,
            scope=scope,
            allow=allow,
            **options,
        )
