"""Stripe's integer amounts become each currency's true ISO minor units."""

from __future__ import annotations

import pytest

from shoptrail.events.money import format_money
from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.stripe_amounts import minor_units_from_stripe, stripe_digits
from shoptrail.ingest.domain.stripe_objects import Charge, CheckoutSession, StripeLineItem


@pytest.mark.parametrize(
    ("stripe_amount", "currency", "minor", "shown"),
    [
        (4300, "gbp", 4300, "£43.00"),  # two-decimal, as ISO
        (500, "jpy", 500, "JP¥500"),  # zero-decimal list: whole yen
        (5000, "pyg", 5000, "PYG5,000"),
        (5000, "ugx", 5000, "UGX5,000"),  # on Stripe's zero-decimal list
        (1230, "kwd", 1230, "KWD1.230"),  # three-decimal: thousandths, as ISO
        (50000, "isk", 500, "ISK500"),  # special case: two-decimal at Stripe, zero in ISO
        (150000, "huf", 1500, "HUF1,500"),  # charged in hundredths, counted in forints
        (1050, "huf", 11, "HUF11"),  # a fraction of a forint rounds half up
        (99900, "twd", 99900, "NT$999.00"),  # two-decimal charges, as CLDR
        (-50000, "isk", -500, "-ISK500"),
    ],
)
def test_stripe_amounts_are_stored_in_true_minor_units(
    stripe_amount: int, currency: str, minor: int, shown: str
) -> None:
    assert minor_units_from_stripe(stripe_amount, currency) == minor
    assert format_money(minor, currency) == shown


def test_stripe_decimals_follow_its_lists() -> None:
    assert [stripe_digits(c) for c in ("usd", "JPY", "KWD", "ISK", "HUF", "TWD", "UGX")] == [
        2,
        0,
        3,
        2,
        2,
        2,
        0,
    ]


def test_an_icelandic_checkout_is_recorded_in_kronur_not_hundredths() -> None:
    session = CheckoutSession.model_validate(
        {
            "id": "cs_test_isk",
            "created": 1767225600,
            "amount_total": 1_000_000,  # 10,000 ISK as Stripe sends it
            "currency": "isk",
            "customer_details": {"email": "sam@example.com"},
        }
    )
    item = StripeLineItem.model_validate(
        {
            "description": "Hoodie",
            "quantity": 2,
            "price": {"unit_amount": 500_000, "currency": "isk"},
        }
    )
    created = se.order_created(session, [item])
    assert (created.total.amount, created.total.currency) == (10_000, "ISK")
    assert created.line_items[0].unit_price.amount == 5_000
    assert created.total.format() == "ISK10,000"


def test_a_refund_in_kuwaiti_dinar_keeps_its_three_decimals() -> None:
    charge = Charge.model_validate(
        {
            "id": "ch_1",
            "amount": 12_340,
            "amount_refunded": 1_230,
            "refunded": False,
            "currency": "kwd",
        }
    )
    refund = se.order_refunded(charge, {"amount_refunded": 0}, order_id="ord_1")
    assert refund.amount.amount == 1_230 and refund.amount.format() == "KWD1.230"
    assert not refund.full
