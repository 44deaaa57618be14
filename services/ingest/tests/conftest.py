"""Ingest test fixtures: a real local Stripe API stand-in, signed payloads, a running app.

Signatures are made with the senders' real schemes (Stripe's SDK helper for
Stripe); the Stripe API is a real HTTP server on 127.0.0.1 that the app's
Stripe SDK client talks to; Kafka is the real broker from the root conftest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from fastapi import FastAPI

from shoptrail.ingest.bootstrap import create_app
from shoptrail.ingest.config import Settings
from shoptrail.ingest.domain.signatures import sign_standard_webhook

STRIPE_SECRET = "whsec_test_current"
STRIPE_OLD_SECRET = "whsec_test_previous"
PRINTIFY_SECRET = "printify-test-secret"
PRINTFUL_SECRET_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
EMAIL_SECRET = "whsec_dGVzdC1lbWFpbC1zaWduaW5nLXNlY3JldA=="
STRIPE_API_KEY = "sk_test_standin"


# --- the Stripe API stand-in ------------------------------------------------


@dataclass
class StripeStandIn:
    """What the stand-in serves, and every request it received."""

    url: str = ""
    line_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    fail_with: int | None = None

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.fail_with:
            return self.fail_with, {"error": {"type": "api_error", "message": "stand-in failure"}}
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"] and parts[4:] == ["line_items"]:
            items = self.line_items.get(parts[3])
            if items is None:
                return 404, {
                    "error": {"type": "invalid_request_error", "message": "no such session"}
                }
            return 200, _page(path, items)
        if parts == ["v1", "checkout", "sessions"]:
            wanted = query.get("payment_intent", [None])[0]
            return 200, _page(path, [s for s in self.sessions if s["payment_intent"] == wanted])
        if parts == ["v1", "events"]:
            since = int(query.get("created[gte]", ["0"])[0])
            types = (
                query.get("types[0]", []) + query.get("types[1]", []) + query.get("types[2]", [])
            )
            undelivered = query.get("delivery_success") == ["false"]
            chosen = [
                e
                for e in self.events
                if e["created"] >= since
                and (not types or e["type"] in types)
                and (not undelivered or e.get("_delivery_failed", False))
            ]
            return 200, _page(path, [{k: v for k, v in e.items() if k[0] != "_"} for e in chosen])
        return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}


def _page(url: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "url": url, "has_more": False, "data": data}


@pytest.fixture
def stripe_api() -> Iterator[StripeStandIn]:
    """A local HTTP server answering the Stripe API calls ingest makes."""
    state = StripeStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append((parts.path, query, self.headers.get("Authorization", "")))
            status, body = state.answer(parts.path, query)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# --- payloads ---------------------------------------------------------------


class Payloads:
    """Builds senders' payloads (shaped like their documentation) and signs them."""

    def stripe_event(
        self, type_: str, obj: dict[str, Any], *, id: str | None = None, created: int | None = None
    ) -> dict[str, Any]:
        return {
            "id": id or f"evt_{time.time_ns()}",
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": created if created is not None else int(time.time()) - 5,
            "livemode": False,
            "type": type_,
            "data": {"object": obj},
        }

    def checkout_session(self, session_id: str = "cs_test_a1", **changes: Any) -> dict[str, Any]:
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "created": 1767225600,
            "amount_total": 4300,
            "currency": "gbp",
            "customer_email": None,
            "customer_details": {"email": "sam@example.com", "name": "Sam Customer"},
            "collected_information": {
                "shipping_details": {
                    "name": "Sam Customer",
                    "address": {
                        "line1": "1 High Street",
                        "line2": None,
                        "city": "Bristol",
                        "postal_code": "BS1 1AA",
                        "state": None,
                        "country": "GB",
                    },
                }
            },
            "metadata": {"order_id": "ord_01J9Z8K4", "order_number": "SS-260223-0042"},
            "payment_intent": "pi_3PqR",
            "payment_status": "paid",
            "status": "complete",
        }
        session.update(changes)
        return session

    def line_item(
        self, name: str = "Mountain Tee", amount: int = 3800, quantity: int = 1
    ) -> dict[str, Any]:
        return {
            "id": f"li_{name.replace(' ', '')}",
            "object": "item",
            "description": name,
            "quantity": quantity,
            "amount_subtotal": amount * quantity,
            "amount_total": amount * quantity,
            "currency": "gbp",
            "price": {
                "id": "price_tee_m_black",
                "object": "price",
                "unit_amount": amount,
                "currency": "gbp",
                "nickname": None,
                "product": {
                    "id": "prod_Stripe1",
                    "object": "product",
                    "name": name,
                    "url": "https://shop.example.com/products/mountain-tee",
                    "metadata": {"product_id": "prod_tee_black", "variant": "M Black"},
                },
            },
        }

    def charge(self, **changes: Any) -> dict[str, Any]:
        charge: dict[str, Any] = {
            "id": "ch_3PqR",
            "object": "charge",
            "amount": 4300,
            "amount_refunded": 4300,
            "currency": "gbp",
            "refunded": True,
            "payment_intent": "pi_3PqR",
            "metadata": {},
        }
        charge.update(changes)
        return charge

    @staticmethod
    def body(payload: dict[str, Any]) -> bytes:
        return json.dumps(payload).encode()

    @staticmethod
    def stripe_headers(
        body: bytes, secret: str = STRIPE_SECRET, timestamp: int | None = None
    ) -> dict[str, str]:
        header = stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=timestamp
        )
        return {"Stripe-Signature": header, "Content-Type": "application/json"}

    @staticmethod
    def printify_headers(body: bytes, secret: str = PRINTIFY_SECRET) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Pfy-Signature": f"sha256={digest}", "Content-Type": "application/json"}

    @staticmethod
    def printful_headers(body: bytes, secret_key: str = PRINTFUL_SECRET_KEY) -> dict[str, str]:
        digest = hmac.new(bytes.fromhex(secret_key), body, hashlib.sha256).hexdigest()
        return {"x-pf-webhook-signature": digest, "Content-Type": "application/json"}

    @staticmethod
    def email_headers(
        body: bytes, message_id: str, secret: str = EMAIL_SECRET, timestamp: int | None = None
    ) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_standard_webhook(
                body, message_id=message_id, timestamp=ts, secret=secret
            ),
            "Content-Type": "application/json",
        }


@pytest.fixture
def payloads() -> Payloads:
    return Payloads()


# --- the app ----------------------------------------------------------------


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "stripe_webhook_secrets": f"{STRIPE_SECRET},{STRIPE_OLD_SECRET}",
        "stripe_api_key": STRIPE_API_KEY,
        "printify_webhook_secret": PRINTIFY_SECRET,
        "printful_webhook_secret_key": PRINTFUL_SECRET_KEY,
        "email_webhook_secrets": EMAIL_SECRET,
        "publish_timeout_seconds": 3.0,
        "stripe_api_timeout_seconds": 3.0,
        # In-process apps share the test's event loop, which also generates and checks
        # the requests (schemathesis blocks it for ~0.3 s per example): its lag is the
        # test's, not the app's. Admission's loop check is tested on its own and runs
        # in every process the whole-shop suites start.
        "max_loop_lag_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """Test settings with known secrets; pass field overrides (topic, kafka_bootstrap…)."""
    return make_settings


@asynccontextmanager
async def _running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


IngestClient = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def ingest_client() -> IngestClient:
    """`async with ingest_client(settings) as client`: the app, started (Kafka connected)."""
    return lambda settings: _running(create_app(settings))
