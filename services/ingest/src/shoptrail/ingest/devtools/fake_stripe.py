"""A fake Stripe API: the calls ingest makes, answered in Stripe's own response shapes.

Stripe's webhooks leave out what ingest needs (a `checkout.session.completed`
carries no `line_items`; a `charge.refunded` carries no shop metadata), so
ingest asks Stripe's API. Stripe's own mock server (stripe-mock) checks those
calls against Stripe's real shapes, but answers every call with the same
fixture, never the demo's cart. This fake answers with the checkouts it was
told about, built from Stripe's published fixture objects as stripe-mock
v0.203.0 serves them (`stripe_fixtures.json`: a `checkout.session`, and an
`item` with its `price` and `product`, from stripe/openapi's fixtures3.json)
with only the values of one checkout filled in, so the shape stays Stripe's.
`tests/integration/test_stripe_api_shapes.py` compares the two servers' answers.

Demos run it with `shoptrail-ingest fake-stripe --port 8091` (INGEST_STRIPE_API_BASE
points there) and tell it about each checkout before its webhook is sent:

    PUT /_fake/checkouts/{session_id}  {"payment_intent": "pi_…", "currency": "gbp",
        "items": [{"product_id": "tee", "name": "Tee", "unit_amount": 2500}], …}
    GET /_fake/requests                 every Stripe API call received (path, query)

Tests serve it in-process (`serve_fake_stripe`) and fill `FakeStripe` directly.

Stripe API routes: `GET /v1/checkout/sessions/{id}/line_items` (paginated with
`limit` / `starting_after`, `expand[]=data.price.product`), `GET
/v1/checkout/sessions?payment_intent=…`, `GET /v1/events` (`created[gte]`,
`types[]`, `delivery_success=false`). A call without a bearer key is answered
401 and an unknown session 404, in Stripe's error shape.

To refresh the fixtures after raising stripe-mock's version (deploy/local/stripe-mock.sh):
start it, save its answers to `GET /v1/checkout/sessions?payment_intent=pi_x` (the
session) and `GET /v1/checkout/sessions/cs_x/line_items?expand[]=data.price.product`
(the item, split into item, price and product) under `resources`. stripe-mock's
answers, rather than fixtures3.json itself, because it drops what the current API
version no longer has (a product's `type`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shoptrail.kit.serving import served

FIXTURES = Path(__file__).with_name("stripe_fixtures.json")
MAX_LIMIT = 100

Query = dict[str, list[str]]


@cache
def stripe_fixture(resource: str) -> dict[str, Any]:
    """One of Stripe's published fixture objects (a fresh copy each time is the caller's)."""
    found: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"][resource]
    return found


class CheckoutItem(BaseModel):
    """One product in a checkout, as the shop priced it."""

    product_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    unit_amount: int = Field(ge=0)
    quantity: int = Field(default=1, ge=1)
    variant: str | None = None


class CheckoutSpec(BaseModel):
    """What the shop's checkout page created at Stripe (the demo's side of it)."""

    payment_intent: str | None = None
    currency: str = Field(default="gbp", min_length=3, max_length=3)
    status: str = "complete"
    customer_email: str | None = None
    customer_name: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    items: list[CheckoutItem] = Field(min_length=1)


def line_item_object(
    item: CheckoutItem, currency: str, index: int, session_id: str
) -> dict[str, Any]:
    """A Stripe `item` (a Checkout line item) with its `price` and `product` expanded."""
    product = copy.deepcopy(stripe_fixture("product"))
    price = copy.deepcopy(stripe_fixture("price"))
    line = copy.deepcopy(stripe_fixture("item"))
    price_id = f"price_{item.product_id}"
    product.update(
        id=f"prod_{item.product_id}",
        name=item.name,
        default_price=price_id,
        description=None,
        metadata={
            "product_id": item.product_id,
            **({"variant": item.variant} if item.variant else {}),
        },
    )
    price.update(
        id=price_id,
        currency=currency,
        unit_amount=item.unit_amount,
        unit_amount_decimal=str(item.unit_amount),
        nickname=item.variant,
        type="one_time",
        recurring=None,
        product=product,
    )
    subtotal = item.unit_amount * item.quantity
    line.update(
        id=f"li_{session_id[-12:]}_{index}",
        description=item.name,
        quantity=item.quantity,
        amount_subtotal=subtotal,
        amount_total=subtotal,
        amount_discount=0,
        amount_tax=0,
        currency=currency,
        price=price,
    )
    return line


def session_object(session_id: str, spec: CheckoutSpec) -> dict[str, Any]:
    """A Stripe `checkout.session` carrying one checkout's values (no `line_items`, as listed)."""
    session = copy.deepcopy(stripe_fixture("checkout.session"))
    total = sum(item.unit_amount * item.quantity for item in spec.items)
    session.update(
        id=session_id,
        created=int(time.time()) - 120,
        status=spec.status,
        payment_status="paid" if spec.status == "complete" else "unpaid",
        amount_subtotal=total,
        amount_total=total,
        currency=spec.currency,
        customer_email=None,
        metadata=dict(spec.metadata),
        payment_intent=spec.payment_intent,
        url=None,
    )
    details = session["customer_details"] or {}
    session["customer_details"] = {
        **details,
        "email": spec.customer_email,
        "name": spec.customer_name,
    }
    return session


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def _page(url: str, data: list[dict[str, Any]], query: Query) -> dict[str, Any]:
    """A Stripe list object: `limit` items after `starting_after`, and whether more follow."""
    limit = min(int(query.get("limit", ["10"])[0]), MAX_LIMIT)
    after = query.get("starting_after", [None])[0]
    start = 0
    if after is not None:
        ids = [item.get("id") for item in data]
        start = ids.index(after) + 1 if after in ids else len(data)
    chosen = data[start : start + limit]
    return {"object": "list", "url": url, "has_more": start + limit < len(data), "data": chosen}


def _collapse_product(item: dict[str, Any]) -> dict[str, Any]:
    """Without `expand[]=data.price.product` Stripe names the product by its id."""
    price = item.get("price")
    if isinstance(price, dict) and isinstance(price.get("product"), dict):
        return {**item, "price": {**price, "product": price["product"].get("id")}}
    return item


@dataclass
class FakeStripe:
    """What the fake serves, and every Stripe API call it received.

    `events` entries with `"_delivery_failed": True` are the ones `delivery_success=false`
    lists (keys starting with `_` are never served).
    """

    url: str = ""
    line_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, Query, str]] = field(default_factory=list)
    fail_with: int | None = None

    def add_checkout(self, session_id: str, spec: CheckoutSpec) -> dict[str, Any]:
        """Remember one checkout as Stripe would hold it; a second time replaces the first."""
        self.sessions = [s for s in self.sessions if s.get("id") != session_id]
        session = session_object(session_id, spec)
        self.sessions.append(session)
        self.line_items[session_id] = [
            line_item_object(item, spec.currency, index, session_id)
            for index, item in enumerate(spec.items)
        ]
        return session

    def answer(self, path: str, query: Query) -> tuple[int, Any]:
        """Stripe's answer to `GET path?query`: (status, JSON body)."""
        if self.fail_with:
            return self.fail_with, {"error": {"type": "api_error", "message": "fake failure"}}
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"] and parts[4:] == ["line_items"]:
            items = self.line_items.get(parts[3])
            if items is None:
                message = f"No such checkout.session: '{parts[3]}'"
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": message,
                    }
                }
            expanded = "data.price.product" in _expand(query)
            served = items if expanded else [_collapse_product(item) for item in items]
            return 200, _page(path, served, query)
        if parts == ["v1", "checkout", "sessions"]:
            wanted = query.get("payment_intent", [None])[0]
            chosen = [
                s for s in self.sessions if wanted is None or s.get("payment_intent") == wanted
            ]
            return 200, _page(path, chosen, query)
        if parts == ["v1", "events"]:
            return 200, _page(path, self._events(query), query)
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL (GET: {path})",
            }
        }

    def _events(self, query: Query) -> list[dict[str, Any]]:
        since = int(query.get("created[gte]", ["0"])[0])
        types = {v for k, values in query.items() if k.startswith("types[") for v in values}
        undelivered = query.get("delivery_success") == ["false"]
        return [
            {k: v for k, v in e.items() if not k.startswith("_")}
            for e in self.events
            if e["created"] >= since
            and (not types or e["type"] in types)
            and (not undelivered or e.get("_delivery_failed", False))
        ]


def _expand(query: Query) -> set[str]:
    return {v for k, values in query.items() if k.startswith("expand[") for v in values}


def build_app(fake: FakeStripe) -> FastAPI:
    """The fake's HTTP face: Stripe's routes under `/v1`, the demo's under `/_fake`."""
    app = FastAPI(title="Fake Stripe API (ingest's calls)", docs_url="/docs")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "fake-stripe"}

    @app.put("/_fake/checkouts/{session_id}", tags=["control"])
    async def put_checkout(session_id: str, spec: CheckoutSpec) -> dict[str, Any]:
        return fake.add_checkout(session_id, spec)

    @app.get("/_fake/requests", tags=["control"])
    async def requests() -> list[dict[str, Any]]:
        return [{"path": path, "query": query} for path, query, _ in fake.requests]

    @app.get("/v1/{path:path}", tags=["stripe"])
    async def stripe_api(path: str, request: Request) -> JSONResponse:
        query: Query = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        auth = request.headers.get("authorization", "")
        fake.requests.append((f"/v1/{path}", query, auth))
        if not auth.startswith("Bearer sk_"):
            return _error(401, "invalid_request_error", "You did not provide an API key.")
        status, body = fake.answer(f"/v1/{path}", query)
        return JSONResponse(body, status_code=status)

    return app


@contextlib.asynccontextmanager
async def serve_fake_stripe(
    fake: FakeStripe, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[FakeStripe]:
    """Serve `fake` on this event loop; yields it with `url` set (port 0 picks a free one)."""
    async with served(build_app(fake), host=host, port=port) as url:
        fake.url = url
        yield fake


def run(host: str, port: int) -> None:
    """Serve an empty fake Stripe API until interrupted."""
    from shoptrail.kit.logging import configure_logging
    from shoptrail.kit.serving import serve

    configure_logging("INFO", service="fake-stripe")
    serve(build_app(FakeStripe()), host=host, port=port)
