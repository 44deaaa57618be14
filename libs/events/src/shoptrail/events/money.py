"""Money as integer minor units plus an ISO 4217 currency code, formatted through babel.

Minor units are not always hundredths: KWD has three decimals, JPY and PYG none.
babel carries CLDR's table of every ISO currency's digits, so no hand-kept list
decides how many decimals an amount has.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from pydantic import BaseModel, ConfigDict, Field

from shoptrail.events.hygiene import MAX_TEXT

MAX_AMOUNT = 2**53 - 1
"""Beyond any real amount, and exact as a JSON number in every reader (JavaScript too)."""

DEFAULT_LOCALE = "en_GB"
"""The shop's own locale (it trades from the UK): '£43.00', 'US$12.50', 'KWD1.234'."""


def minor_digits(currency: str) -> int:
    """How many decimals a currency's minor unit has: 2 for GBP, 3 for KWD, 0 for JPY/PYG."""
    return int(get_currency_precision(currency.upper()))


def major_amount(amount_minor: int, currency: str) -> Decimal:
    """The exact amount in major units: 1234 KWD minor units → Decimal('1.234')."""
    return Decimal(amount_minor).scaleb(-minor_digits(currency))


def format_money(amount_minor: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """Render minor units for people in `locale`, with the currency's own number of decimals."""
    code = currency.upper()
    return str(
        format_currency(
            major_amount(amount_minor, code),
            code,
            locale=locale,
            currency_digits=True,
        )
    )


class Money(BaseModel):
    """An amount in minor units (pence, cents) of a currency."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_TEXT)

    amount: int = Field(
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        description="Amount in the currency's minor units, e.g. 4300 for £43.00.",
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case.")

    def format(self, locale: str = DEFAULT_LOCALE) -> str:
        """Render for people: '£43.00', 'JP¥500', 'KWD1.234', 'PYG5,000'."""
        return format_money(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return self.format()
