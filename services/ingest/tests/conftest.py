"""Ingest test fixtures: Stripe API servers, signed payloads, a running app.

Signatures are made with the senders' real schemes (Stripe's SDK helper for
Stripe); the Stripe API is a real HTTP server on 127.0.0.1 that the app's
Stripe SDK client talks to — the fake Stripe API a test fills (`stripe_api`),
or Stripe's own mock server (`stripe_mock`); Kafka is the real broker from the
root conftest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
import stripe
from fastapi import FastAPI

from shoptrail.ingest.bootstrap import create_app
from shoptrail.ingest.config import Settings
from shoptrail.ingest.devtools.fake_stripe import FakeStripe, serve_fake_stripe
from shoptrail.ingest.domain.signatures import sign_standard_webhook
from shoptrail.testing.stripe_mock import running_stripe_mock, stripe_mock_binary

STRIPE_SECRET = "whsec_test_current"
STRIPE_OLD_SECRET = "whsec_test_previous"
PRINTIFY_SECRET = "printify-test-secret"
PRINTFUL_SECRET_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
EMAIL_SECRET = "whsec_dGVzdC1lbWFpbC1zaWduaW5nLXNlY3JldA=="
STRIPE_API_KEY = "sk_test_standin"


# --- the Stripe API: a stand-in we fill, and Stripe's own mock server -----------


@pytest.fixture
async def stripe_api() -> AsyncIterator[FakeStripe]:
    """The fake Stripe API (ingest's devtools, also `make dev`'s) that tests fill directly."""
    async with serve_fake_stripe(FakeStripe()) as fake:
        yield fake


@pytest.fixture(scope="session")
def stripe_mock() -> Iterator[str]:
    """Stripe's own mock server (stripe-mock), for the shapes of Stripe's real answers.

    deploy/local/system-deps.sh installs it; without it the tests are skipped,
    except in CI, where that is a failure.
    """
    binary = stripe_mock_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("stripe-mock is missing in CI: deploy/local/stripe-mock.sh installs it")
        pytest.skip("stripe-mock is not installed (bash deploy/local/stripe-mock.sh)")
    with running_stripe_mock(binary) as url:
        yield url


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
