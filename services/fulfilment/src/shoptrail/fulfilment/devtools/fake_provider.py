"""A fake Printify + Printful HTTP API, with faults you can plan.

Tests start it in-process (`serve_fake_provider`); demos run it with
`shoptrail-fulfilment fake-provider --port 8090` and plan faults over HTTP:

    POST /_fake/faults  {"kind": "error", "operation": "create_order", "times": 2}
    POST /_fake/orders/{provider_order_id}/status  {"status": "fulfilled", "carrier": "DHL", ...}
    PUT  /_fake/products/{Printify|Printful}  [{"id": "p1", "title": "Tee"}]
    PUT  /_fake/tokens  ["good-token"]   (null: any bearer token is accepted, the default)
    PUT  /_fake/shops   ["12345"]        (null: every Printify shop id exists, the default)
    GET  /_fake/orders

Fault kinds: `error` (HTTP `status` with `message`), `timeout` (answers after
`delay` seconds), `rate_limit` (429 with Retry-After), `accept_then_drop`
(creates the order, then answers only after `delay` — the caller times out).

A bearer token outside `tokens` is answered 401 (as a revoked token is), and a
Printify shop id outside `shops` 404 "Shop not found", on every API call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shoptrail.kit.serving import served

Operation = Literal["create_order", "find_order", "get_order", "list_products", "any"]


class Fault(BaseModel):
    """What the next `times` calls of `operation` suffer."""

    kind: Literal["error", "timeout", "rate_limit", "accept_then_drop"] = "error"
    operation: Operation = "create_order"
    times: int = 1
    status: int = 503
    message: str = "Service temporarily unavailable"
    retry_after: float = 1.0
    delay: float = 5.0


class StatusChange(BaseModel):
    """Move a fake order along: a provider status word, and shipment details."""

    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    delivered: bool = False


class FakeProvider:
    """The providers' state: orders, products, planned faults, and every request seen."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.products: dict[str, list[dict[str, Any]]] = {"Printify": [], "Printful": []}
        self.faults: list[Fault] = []
        self.calls: list[str] = []
        self.tokens: set[str] | None = None
        """The bearer tokens accepted; None: any."""
        self.shops: set[str] | None = None
        """The Printify shop ids that exist; None: any."""
        self.refused: list[str] = []
        """The path of every call answered 401 for its token or 404 for its shop."""
        self._ids = itertools.count(1001)

    def plan(self, fault: Fault) -> None:
        """Apply `fault` to the next matching calls."""
        self.faults.append(fault)

    def take_fault(self, operation: Operation) -> Fault | None:
        self.calls.append(operation)
        for fault in self.faults:
            if fault.operation in (operation, "any") and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def orders_with_external_id(self, external_id: str) -> list[dict[str, Any]]:
        """Every order created for our `external_id` (more than one would be a duplicate)."""
        return [o for o in self.orders.values() if o["external_id"] == external_id]

    def create(self, provider: str, external_id: str, body: dict[str, Any]) -> dict[str, Any]:
        prefix = "PFY" if provider == "Printify" else ""
        order: dict[str, Any] = {
            "id": f"{prefix}{next(self._ids)}" if prefix else next(self._ids),
            "provider": provider,
            "external_id": external_id,
            "status": "pending" if provider == "Printify" else "draft",
            "shipments": [],
            "created_at": datetime.now(UTC).isoformat(),
            "request": body,
        }
        self.orders[str(order["id"])] = order
        return order

    def change_status(self, provider_order_id: str, change: StatusChange) -> dict[str, Any]:
        order = self.orders[provider_order_id]
        order["status"] = change.status
        if change.carrier:
            shipment = {
                "carrier": change.carrier,
                "number": change.tracking_number,
                "tracking_number": change.tracking_number,
                "url": change.tracking_url,
                "tracking_url": change.tracking_url,
            }
            order["shipments"] = [shipment]
        if change.delivered:
            for shipment in order["shipments"]:
                shipment["delivered_at"] = datetime.now(UTC).isoformat()
        return order


def _public(order: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in order.items() if k not in ("provider", "request")}
    shown["metadata"] = {"shop_order_id": order["external_id"]}
    return shown


async def _suffer(fault: Fault | None, provider: str) -> JSONResponse | None:
    """The response a fault forces (None: carry on normally)."""
    if fault is None:
        return None
    if fault.kind in ("timeout", "accept_then_drop"):
        await asyncio.sleep(fault.delay)
        return None if fault.kind == "accept_then_drop" else JSONResponse({}, 504)
    if fault.kind == "rate_limit":
        headers = {"Retry-After": f"{fault.retry_after:g}"}
        return JSONResponse(_error(provider, 429, "Too Many Requests"), 429, headers=headers)
    return JSONResponse(_error(provider, fault.status, fault.message), fault.status)


def _error(provider: str, status: int, message: str) -> dict[str, Any]:
    if provider == "Printify":
        return {
            "status": "error",
            "code": status,
            "message": message,
            "errors": {"reason": message, "code": status},
        }
    return {"code": status, "result": message, "error": {"reason": "Error", "message": message}}


class CallRefusedError(Exception):
    """The call is refused before it reaches the API (token, shop)."""

    def __init__(self, provider: str, status: int, message: str) -> None:
        super().__init__(message)
        self.provider, self.status, self.message = provider, status, message


def build_app(fake: FakeProvider) -> FastAPI:
    """The fake APIs: Printify under /v1/shops/{shop}/, Printful at /orders and /store."""
    app = FastAPI(title="Fake Printify + Printful")

    async def authorised(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> None:
        provider = "Printify" if request.url.path.startswith("/v1/") else "Printful"
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer token")
        token = authorization.removeprefix("Bearer ")
        if fake.tokens is not None and token not in fake.tokens:
            fake.refused.append(request.url.path)
            raise CallRefusedError(provider, 401, "Unauthenticated.")
        shop = request.path_params.get("shop_id")
        if provider == "Printify" and fake.shops is not None and shop not in fake.shops:
            fake.refused.append(request.url.path)
            raise CallRefusedError(provider, 404, "Shop not found.")

    @app.exception_handler(CallRefusedError)
    async def refused(request: Request, exc: CallRefusedError) -> JSONResponse:
        return JSONResponse(_error(exc.provider, exc.status, exc.message), exc.status)

    api = [Depends(authorised)]

    @app.post("/v1/shops/{shop_id}/orders.json", dependencies=api)
    async def printify_create(shop_id: str, request: Request) -> Any:
        body = await request.json()
        fault = fake.take_fault("create_order")
        if fault and fault.kind != "accept_then_drop":
            return await _suffer(fault, "Printify")
        order = fake.create("Printify", str(body.get("external_id")), body)
        await _suffer(fault, "Printify")
        return {"id": order["id"]}

    @app.get("/v1/shops/{shop_id}/orders.json", dependencies=api)
    async def printify_list(shop_id: str, page: int = 1, limit: int = 10) -> Any:
        if response := await _suffer(fake.take_fault("find_order"), "Printify"):
            return response
        mine = [_public(o) for o in fake.orders.values() if o["provider"] == "Printify"][::-1]
        last_page = max((len(mine) + limit - 1) // limit, 1)
        data = mine[(page - 1) * limit : page * limit]
        return {"current_page": page, "data": data, "last_page": last_page, "total": len(mine)}

    @app.get("/v1/shops/{shop_id}/orders/{order_id}.json", dependencies=api)
    async def printify_get(shop_id: str, order_id: str) -> Any:
        if response := await _suffer(fake.take_fault("get_order"), "Printify"):
            return response
        if order_id not in fake.orders:
            return JSONResponse(_error("Printify", 404, "Order not found"), 404)
        return _public(fake.orders[order_id])

    @app.get("/v1/shops/{shop_id}/products.json", dependencies=api)
    async def printify_products(shop_id: str, page: int = 1, limit: int = 10) -> Any:
        if response := await _suffer(fake.take_fault("list_products"), "Printify"):
            return response
        items = fake.products["Printify"]
        last_page = max((len(items) + limit - 1) // limit, 1)
        data = items[(page - 1) * limit : page * limit]
        return {"current_page": page, "data": data, "last_page": last_page, "total": len(items)}

    @app.post("/orders", dependencies=api)
    async def printful_create(request: Request) -> Any:
        body = await request.json()
        fault = fake.take_fault("create_order")
        if fault and fault.kind != "accept_then_drop":
            return await _suffer(fault, "Printful")
        if fake.orders_with_external_id(str(body.get("external_id"))):
            message = "Order with the same external ID already exists"
            return JSONResponse(_error("Printful", 400, message), 400)
        order = fake.create("Printful", str(body.get("external_id")), body)
        await _suffer(fault, "Printful")
        return {"code": 200, "result": _public(order)}

    @app.get("/orders/{order_ref}", dependencies=api)
    async def printful_get(order_ref: str) -> Any:
        operation: Operation = "find_order" if order_ref.startswith("@") else "get_order"
        if response := await _suffer(fake.take_fault(operation), "Printful"):
            return response
        if order_ref.startswith("@"):
            found = fake.orders_with_external_id(order_ref[1:])
            order = found[0] if found else None
        else:
            order = fake.orders.get(order_ref)
        if order is None:
            return JSONResponse(_error("Printful", 404, "Not Found"), 404)
        return {"code": 200, "result": _public(order)}

    @app.get("/store/products", dependencies=api)
    async def printful_products(offset: int = 0, limit: int = 20) -> Any:
        if response := await _suffer(fake.take_fault("list_products"), "Printful"):
            return response
        items = fake.products["Printful"]
        paging = {"total": len(items), "offset": offset, "limit": limit}
        return {"code": 200, "result": items[offset : offset + limit], "paging": paging}

    @app.post("/_fake/faults", tags=["control"])
    async def plan_fault(fault: Fault) -> Fault:
        fake.plan(fault)
        return fault

    @app.delete("/_fake/faults", tags=["control"])
    async def clear_faults() -> None:
        fake.faults.clear()

    @app.get("/_fake/orders", tags=["control"])
    async def list_orders() -> list[dict[str, Any]]:
        return list(fake.orders.values())

    @app.post("/_fake/orders/{provider_order_id}/status", tags=["control"])
    async def change_status(provider_order_id: str, change: StatusChange) -> dict[str, Any]:
        if provider_order_id not in fake.orders:
            raise HTTPException(404, "no such order")
        return fake.change_status(provider_order_id, change)

    @app.put("/_fake/tokens", tags=["control"])
    async def set_tokens(tokens: Annotated[list[str] | None, Body()]) -> None:
        fake.tokens = None if tokens is None else set(tokens)

    @app.put("/_fake/shops", tags=["control"])
    async def set_shops(shops: Annotated[list[str] | None, Body()]) -> None:
        fake.shops = None if shops is None else set(shops)

    @app.put("/_fake/products/{provider}", tags=["control"])
    async def set_products(
        provider: Literal["Printify", "Printful"], items: list[dict[str, Any]]
    ) -> int:
        fake.products[provider] = items
        return len(items)

    return app


@contextlib.asynccontextmanager
async def serve_fake_provider(
    fake: FakeProvider, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `fake` on this event loop; yields its base URL (port 0 picks a free one)."""
    async with served(build_app(fake), host=host, port=port) as url:
        yield url


def run(host: str, port: int) -> None:
    """Serve a fresh fake provider until interrupted."""
    from shoptrail.kit.logging import configure_logging
    from shoptrail.kit.serving import serve

    configure_logging("INFO", service="fake-provider")
    serve(build_app(FakeProvider()), host=host, port=port)
