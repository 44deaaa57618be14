"""Value objects shared by several event types."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shoptrail.events.hygiene import MAX_TEXT
from shoptrail.events.money import Money


class LineItem(BaseModel):
    """One product line of an order or a cart."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_TEXT)

    product_id: str
    name: str
    quantity: int = Field(ge=1)
    unit_price: Money
    variant: str | None = None
    product_url: str | None = None


class Address(BaseModel):
    """A shipping address, as the customer entered it at checkout."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_TEXT)

    name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    state: str | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$")


EXAMPLE_ITEMS = (
    LineItem(
        product_id="prod_tee_black",
        name="Mountain Tee",
        variant="M Black",
        quantity=1,
        unit_price=Money(amount=3800, currency="GBP"),
        product_url="https://shop.example.com/products/mountain-tee",
    ),
)
EXAMPLE_ADDRESS = Address(
    name="Sam Customer", line1="1 High Street", city="Bristol", postal_code="BS1 1AA", country="GB"
)
