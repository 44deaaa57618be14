"""Whatever a genuinely signed Stripe event contains, translation gives a fact, "ignored" or a 400.

Never another exception: that would be a 500, and Stripe would retry a
payload that can never succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.errors import InvalidPayloadError
from shoptrail.ingest.domain.facts import Fact, Ignored, from_unix
from shoptrail.ingest.domain.stripe_objects import CheckoutSession, StripeLineItem
from shoptrail.ingest.service_layer.handlers import stripe_fact
from shoptrail.ingest.service_layer.ports import StripeApi

scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mostly(valid: Any, wild: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually the valid value, sometimes something wild: bugs hide behind mostly-valid input."""
    return st.integers(0, 3).flatmap(lambda i: wild if i == 0 else st.just(valid))


currency = mostly("gbp", st.sampled_from(["GBP", "xx", "12a", "", None]) | json_values)
address = st.fixed_dictionaries(
    {
        "line1": mostly("1 High St", st.text(max_size=3) | json_values),
        "city": mostly("Bristol", st.text(max_size=3) | json_values),
        "country": mostly(
            "GB", st.sampled_from(["gb", "GBR", "G1", "", "ÉÉ"]) | st.text(max_size=3)
        ),
        "postal_code": mostly("BS1", st.none() | json_values),
    },
)
line_item = st.fixed_dictionaries(
    {
        "description": mostly("Tee", st.none() | json_values),
        "quantity": mostly(1, st.integers(-3, 5) | json_values),
        "amount_total": mostly(100, st.integers(-100, 10**5) | json_values),
        "currency": currency,
        "price": mostly(
            {"unit_amount": 100, "currency": "gbp", "product": "prod_1"},
            st.fixed_dictionaries(
                {"unit_amount": st.integers(-100, 10**5) | json_values, "currency": currency},
                optional={"product": json_values},
            ),
        ),
    },
)
session = st.fixed_dictionaries(
    {
        "id": mostly("cs_1", json_values),
        "created": mostly(1767225600, st.integers(0, 2**40) | json_values),
        "amount_total": mostly(4300, st.integers(-(10**6), 10**6) | json_values),
        "currency": currency,
        "customer_details": mostly({"email": "a@b.c"}, json_values),
        "collected_information": st.fixed_dictionaries(
            {"shipping_details": st.fixed_dictionaries({"address": address})}
        ),
        "metadata": mostly({}, st.dictionaries(st.sampled_from(["order_id", "x"]), json_values)),
        "line_items": mostly(
            {"data": []}, st.fixed_dictionaries({"data": st.lists(line_item, max_size=2)})
        ),
    },
)
charge = st.fixed_dictionaries(
    {
        "id": mostly("ch_1", json_values),
        "amount": mostly(4300, st.integers(-10, 10**5) | json_values),
        "amount_refunded": mostly(4300, st.integers(-10, 10**5) | json_values),
        "currency": currency,
        "refunded": st.booleans(),
        "metadata": mostly(
            {"order_id": "ord_1"}, st.dictionaries(st.just("order_id"), json_values)
        ),
        "payment_intent": mostly("pi_1", json_values),
    },
)
previous = st.none() | st.fixed_dictionaries(
    {"amount_refunded": st.integers(-10, 10**5) | json_values}
)
events = st.builds(
    lambda type_and_object, prev: {
        "id": "evt_fuzz",
        "type": type_and_object[0],
        "created": 1767225600,
        "data": {"object": type_and_object[1], "previous_attributes": prev},
    },
    st.tuples(st.sampled_from(se.HANDLED_TYPES[:2]), session)
    | st.tuples(st.just(se.CHARGE_REFUNDED), charge),
    previous,
)


class OneItemStripe(StripeApi):
    """A fake Stripe API with one line item and one session for any payment intent."""

    async def checkout_line_items(self, session_id: str) -> Sequence[StripeLineItem]:
        return [StripeLineItem(description="Tee", quantity=1, amount_total=100, currency="gbp")]

    async def checkout_session_for_payment_intent(self, payment_intent: str) -> CheckoutSession:
        return CheckoutSession(id="cs_found")

    async def undelivered_events(
        self, *, since: datetime, types: Sequence[str]
    ) -> AsyncIterator[dict[str, Any]]:
        raise NotImplementedError
        yield {}


@given(raw=events)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_handled_stripe_event_is_a_fact_ignored_or_a_clear_400(raw: dict[str, Any]) -> None:
    try:
        result: Fact | Ignored | InvalidPayloadError = asyncio.run(
            stripe_fact(se.parse_event(raw), stripe=OneItemStripe())
        )
    except InvalidPayloadError as refused:
        result = refused
    assert isinstance(result, Fact | Ignored | InvalidPayloadError)
    if isinstance(result, InvalidPayloadError):
        assert result.detail
    if isinstance(result, Fact):
        assert result.to_event().id  # the envelope builds too


def test_a_created_time_no_date_can_hold_is_a_clear_400() -> None:
    """Found by the test above: 2**40 s is after year 9999, a ValueError, so a 500."""
    for created in (2**40, -(2**40), 10**30):
        with pytest.raises(InvalidPayloadError, match="no unix time a date can hold"):
            from_unix(created)
