"""Dashboard links: made from the ids an order is known by, and only from ids."""

from __future__ import annotations

from shoptrail.admin_ui.domain.dashboards import DashboardLink, dashboard_links


def urls(references: dict[str, str], shop: str | None = None) -> list[str]:
    return [link.url for link in dashboard_links(references, printify_shop_id=shop)]


class TestStripe:
    def test_a_test_mode_checkout_session_links_to_the_test_dashboard(self) -> None:
        assert urls({"checkout_session_id": "cs_test_a1B2"}) == [
            "https://dashboard.stripe.com/test/checkout/sessions/cs_test_a1B2"
        ]

    def test_a_live_session_and_its_payment_intent_link_to_the_live_dashboard(self) -> None:
        assert urls({"checkout_session_id": "cs_live_X9", "payment_intent_id": "pi_3Nx"}) == [
            "https://dashboard.stripe.com/payments/pi_3Nx",
            "https://dashboard.stripe.com/checkout/sessions/cs_live_X9",
        ]

    def test_ids_of_the_wrong_kind_make_no_link(self) -> None:
        assert urls({"checkout_session_id": "pi_123", "payment_intent_id": "cs_123"}) == []


class TestProviders:
    def test_printify_needs_the_shop_id_as_well_as_the_order_id(self) -> None:
        order = {"provider": "Printify", "provider_order_id": "5a96f649b2439217d070f507"}
        assert urls(order) == []
        assert urls(order, shop="12345") == [
            "https://printify.com/app/store/12345/orders/5a96f649b2439217d070f507"
        ]

    def test_printful_needs_only_its_order_id(self) -> None:
        assert dashboard_links({"provider": "Printful", "provider_order_id": "13"}) == [
            DashboardLink(
                "Order in Printful", "https://www.printful.com/dashboard/default/orders?order_id=13"
            )
        ]

    def test_no_order_id_or_an_unknown_provider_makes_no_link(self) -> None:
        assert urls({"provider": "Printful"}) == []
        assert urls({"provider": "Gelato", "provider_order_id": "G1"}, shop="1") == []


def test_nothing_known_means_no_links() -> None:
    assert dashboard_links({}) == []


def test_an_id_that_is_not_an_id_never_becomes_part_of_a_url() -> None:
    hostile = {
        "checkout_session_id": "cs_test_x/../../evil?",
        "provider": "Printful",
        "provider_order_id": "1&next=https://evil.example",
    }
    assert urls(hostile) == []
    assert urls({"provider": "Printify", "provider_order_id": "7"}, shop="1/../2") == []


def test_the_details_page_says_how_late_the_log_heard_of_an_entry() -> None:
    from shoptrail.admin_ui.entrypoints.entry_page import after

    assert after(0) == ""
    assert after(42) == "42 s after it occurred"
    assert after(125) == "2 min 5 s after it occurred"
    assert after(7201) == "2 h 0 min after it occurred"
