"""Stripe objects → facts: order identity, amounts and line items."""

from __future__ import annotations

import pytest

from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.errors import InvalidPayloadError
from shoptrail.ingest.domain.stripe_objects import Charge, CheckoutSession, StripeLineItem


def session(**changes: object) -> CheckoutSession:
    values: dict[str, object] = {
        "id": "cs_test_x",
        "created": 1767225600,
        "amount_total": 4300,
        "currency": "gbp",
        "customer_details": {"email": "sam@example.com"},
    }
    values.update(changes)
    return CheckoutSession.model_validate(values)


class TestOrderIdentity:
    def test_metadata_order_id_and_number_are_used_as_given(self) -> None:
        s = session(metadata={"order_id": "ord_42", "order_number": "SS-1"})
        assert (se.order_id_for(s), se.order_number_for(s)) == ("ord_42", "SS-1")

    def test_without_metadata_ids_are_derived_from_the_session_alone(self) -> None:
        one, again, other = session(), session(amount_total=1), session(id="cs_test_y")
        assert se.order_id_for(one) == se.order_id_for(again) != se.order_id_for(other)
        assert se.order_id_for(one).startswith("ord_") and len(se.order_id_for(one)) == 20
        assert se.order_number_for(one).startswith("SS-260101-")


class TestOrderCreated:
    def test_a_completed_checkout_without_an_email_is_refused(self) -> None:
        with pytest.raises(InvalidPayloadError):
            se.order_created(session(customer_details=None), [])

    def test_shipping_from_older_api_versions_is_read_too(self) -> None:
        address = {"line1": "1 Rue", "city": "Paris", "country": "fr", "postal_code": "75001"}
        s = session(shipping_details={"name": "Ana", "address": address})
        created = se.order_created(s, [])
        assert created.shipping_address is not None
        assert (created.shipping_address.name, created.shipping_address.country) == ("Ana", "FR")

    def test_unexpanded_line_item_falls_back_to_stripe_ids_and_totals(self) -> None:
        item = StripeLineItem.model_validate(
            {
                "description": "Mug",
                "quantity": 2,
                "amount_subtotal": 2400,
                "price": {"product": "prod_9"},
            }
        )
        [line] = se.line_items([item], "gbp")
        assert (line.product_id, line.quantity, line.unit_price.amount) == ("prod_9", 2, 1200)
        assert line.unit_price.currency == "GBP"


class TestRefunds:
    def charge(self, **changes: object) -> Charge:
        values: dict[str, object] = {
            "id": "ch_1",
            "amount": 5000,
            "amount_refunded": 5000,
            "currency": "eur",
        }
        values.update(changes)
        return Charge.model_validate(values)

    def test_partial_refund_amount_is_the_rise_since_the_previous_state(self) -> None:
        refund = se.order_refunded(
            self.charge(amount_refunded=3000), {"amount_refunded": 1000}, order_id="ord_1"
        )
        assert (refund.amount.amount, refund.full) == (2000, False)

    def test_refunding_the_last_of_a_charge_is_full(self) -> None:
        refund = se.order_refunded(
            self.charge(refunded=True), {"amount_refunded": 3000}, order_id="o"
        )
        assert (refund.amount.amount, refund.full) == (2000, True)
