"""The shop's taxonomy: every type, its level, category and voice."""

from __future__ import annotations

import pytest

from shoptrail.events import REGISTRY, SHOP_TAXONOMY, Category, Level, Money, topic_for, topics
from shoptrail.events.fulfilment import OrderCancelled, OrderShipped, SyncCompleted
from shoptrail.events.ingest import CheckoutExpired, OrderRefunded, ProviderStatusReported
from shoptrail.events.money import format_money, minor_digits
from shoptrail.events.system import JobExhausted

# (type, level, example message) exactly as the shop's design words them.
SHOP_VOICE = [
    ("order.created", "info", "Order placed — £43.00 via Stripe"),
    ("order.email.confirmation_sent", "info", "Order confirmation sent to customer@example.com"),
    ("order.submitted", "info", "Submitted to Printify (PFY-12345)"),
    (
        "order.submission_failed",
        "error",
        "Submission to Printify failed: insufficient stock for M Black",
    ),
    ("order.submission_retried", "info", "Submission retried — attempt 2 of 3"),
    ("order.production", "info", "In production at Printify"),
    ("order.shipped", "info", "Shipped via DHL — tracking: 1Z999AA10123456784"),
    ("order.email.shipping_sent", "info", "Shipping notification sent to customer@example.com"),
    ("order.delivered", "info", "Delivered"),
    ("order.cancelled", "warning", "Order cancelled"),
    ("order.refunded", "info", "Refunded £43.00"),
    ("sync.started", "info", "Product sync started (Printify)"),
    ("sync.completed", "info", "Product sync complete — 47 products, 3 updated"),
    ("sync.failed", "error", "Product sync failed: API rate limit exceeded"),
    ("abandoned_cart.created", "info", "Abandoned cart — customer@example.com, £43.00"),
    ("abandoned_cart.email_sent", "info", "Recovery email sent to customer@example.com"),
    ("abandoned_cart.recovered", "info", "Cart recovered — order SS-260223-0042 placed"),
    ("email.bounced", "warning", "Email bounced: customer@example.com (order confirmation)"),
    (
        "job.exhausted",
        "error",
        "Job submit_order gave up after 3 attempts: Printify API timed out",
    ),
]


def test_the_shop_taxonomy_has_nineteen_types_all_registered() -> None:
    assert len(SHOP_TAXONOMY) == 19
    assert [row[0] for row in SHOP_VOICE] == list(SHOP_TAXONOMY)
    assert all(type_ in REGISTRY for type_ in SHOP_TAXONOMY)


@pytest.mark.parametrize(("type_", "level", "message"), SHOP_VOICE)
def test_each_type_renders_in_the_shops_voice(type_: str, level: str, message: str) -> None:
    cls = REGISTRY.get(type_)
    assert Level(level) == cls.LEVEL
    assert cls.example().render() == message


def test_internal_facts_are_debug_level() -> None:
    assert CheckoutExpired.LEVEL is Level.DEBUG
    assert ProviderStatusReported.LEVEL is Level.DEBUG
    assert not Level.DEBUG.needs_attention
    assert Level.WARNING.needs_attention and Level.ERROR.needs_attention


def test_every_type_has_a_category_and_a_topic() -> None:
    for cls in REGISTRY:
        assert isinstance(cls.CATEGORY, Category)
        owners = [t for t, types in topics_by_producer().items() if cls in types]
        assert owners, f"{cls.TYPE} has no producer topic"


def topics_by_producer() -> dict[str, tuple[type, ...]]:
    from shoptrail.events.catalog import PRODUCERS

    return dict(PRODUCERS)


def test_topic_for_needs_the_producer_when_several_services_emit_a_type() -> None:
    assert topic_for(OrderShipped) == topics.FULFILMENT
    with pytest.raises(ValueError, match="say which producer"):
        topic_for(JobExhausted)
    assert topic_for(JobExhausted, producer_topic=topics.NOTIFIER) == topics.NOTIFIER
    with pytest.raises(ValueError, match="not published on"):
        topic_for(OrderShipped, producer_topic=topics.INGEST)


def test_message_variants() -> None:
    shipped = OrderShipped(order_id="o1", provider="Printful", carrier="Royal Mail")
    assert shipped.render() == "Shipped via Royal Mail"
    cancelled = OrderCancelled(order_id="o1", reason="out of stock")
    assert cancelled.render() == "Order cancelled: out of stock"
    partial = OrderRefunded(order_id="o1", amount=Money(amount=1250, currency="GBP"), full=False)
    assert partial.render() == "Refunded £12.50 (partial)"
    sync = SyncCompleted(
        sync_id="s", provider="Printify", total=50, created=2, updated=1, removed=4
    )
    assert sync.render() == "Product sync complete — 50 products, 1 updated, 2 new, 4 removed"
    expired = CheckoutExpired(checkout_session_id="cs_1")
    assert expired.render() == "Checkout expired (no email entered)"


class TestMoney:
    @pytest.mark.parametrize(
        ("amount", "currency", "text"),
        [
            (4300, "GBP", "£43.00"),
            (5, "USD", "US$0.05"),
            (123456789, "EUR", "€1,234,567.89"),
            (500, "JPY", "JP¥500"),
            (1250, "SEK", "SEK12.50"),
            (-4300, "GBP", "-£43.00"),
            (1234, "KWD", "KWD1.234"),  # three decimals (fils)
            (5000, "PYG", "PYG5,000"),  # no minor unit
            (1234, "BHD", "BHD1.234"),
            (7, "CLP", "CLP7"),
        ],
    )
    def test_renders_minor_units_for_people(self, amount: int, currency: str, text: str) -> None:
        assert Money(amount=amount, currency=currency).format() == text
        assert str(Money(amount=amount, currency=currency)) == text
        assert format_money(amount, currency) == text

    def test_formats_in_another_locale(self) -> None:
        assert format_money(1234, "KWD", "de_DE") == "1,234\xa0KWD"
        assert Money(amount=123456, currency="EUR").format("fr_FR") == "1\u202f234,56\xa0€"

    @pytest.mark.parametrize(("currency", "digits"), [("USD", 2), ("KWD", 3), ("PYG", 0)])
    def test_minor_digits_come_from_the_iso_table(self, currency: str, digits: int) -> None:
        assert minor_digits(currency) == digits

    def test_rejects_a_currency_that_is_not_iso(self) -> None:
        with pytest.raises(ValueError, match="currency"):
            Money(amount=1, currency="pounds")
