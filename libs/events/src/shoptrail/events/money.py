"""Money as integer minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shoptrail.events.hygiene import MAX_TEXT

MAX_AMOUNT = 2**53 - 1
"""Beyond any real amount, and exact as a JSON number in every reader (JavaScript too)."""

_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
# Currencies whose minor unit is the major unit (Stripe's "zero-decimal" list, common ones).
_ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}


class Money(BaseModel):
    """An amount in minor units (pence, cents) of a currency."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_TEXT)

    amount: int = Field(
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        description="Amount in the currency's minor units, e.g. 4300 for £43.00.",
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case.")

    def format(self) -> str:
        """Render for people: '£43.00', '¥500', '12.50 SEK'."""
        sign = "-" if self.amount < 0 else ""
        minor = abs(self.amount)
        if self.currency in _ZERO_DECIMAL:
            number = f"{minor:,}"
        else:
            number = f"{minor // 100:,}.{minor % 100:02d}"
        symbol = _SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {self.currency}"

    def __str__(self) -> str:
        return self.format()
