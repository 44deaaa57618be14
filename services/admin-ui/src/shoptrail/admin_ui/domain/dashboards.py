"""Links to an order in the dashboards of Stripe, Printify and Printful, from the ids we hold.

Pure: the ids come from the entry's payload and the order read model (the
activity service's `references`). A link is made only when every id its URL
needs is known and looks like an id (letters, digits, `_`, `-`), so a payload
can never steer a link somewhere else; otherwise there is no link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

STRIPE = "https://dashboard.stripe.com"
PRINTIFY = "https://printify.com/app/store"
PRINTFUL = "https://www.printful.com/dashboard/default/orders"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


@dataclass(frozen=True)
class DashboardLink:
    label: str
    url: str


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def stripe_links(references: Mapping[str, str]) -> list[DashboardLink]:
    """The checkout session and the payment, in test or live mode as the session id says."""
    session = _id(references.get("checkout_session_id"))
    intent = _id(references.get("payment_intent_id"))
    test = "/test" if (session or intent or "").startswith(("cs_test_", "pi_test_")) else ""
    links = []
    if intent and intent.startswith("pi_"):
        links.append(DashboardLink("Payment in Stripe", f"{STRIPE}{test}/payments/{quote(intent)}"))
    if session and session.startswith("cs_"):
        links.append(
            DashboardLink(
                "Checkout session in Stripe",
                f"{STRIPE}{test}/checkout/sessions/{quote(session)}",
            )
        )
    return links


def provider_link(
    references: Mapping[str, str], *, printify_shop_id: str | None
) -> DashboardLink | None:
    """The order at its print provider; Printify's URL also needs the shop's id."""
    provider = (references.get("provider") or "").lower()
    order = _id(references.get("provider_order_id"))
    if order is None:
        return None
    if provider == "printify":
        shop = _id(printify_shop_id)
        if shop is None:
            return None
        return DashboardLink("Order in Printify", f"{PRINTIFY}/{quote(shop)}/orders/{quote(order)}")
    if provider == "printful":
        return DashboardLink("Order in Printful", f"{PRINTFUL}?order_id={quote(order)}")
    return None


def dashboard_links(
    references: Mapping[str, str], *, printify_shop_id: str | None = None
) -> list[DashboardLink]:
    """Every dashboard link the ids allow: Stripe first, then the print provider."""
    links = stripe_links(references)
    provider = provider_link(references, printify_shop_id=printify_shop_id)
    return [*links, provider] if provider else links
