"""Stripe's integer amounts → ISO 4217 minor units (what `Money.amount` holds).

Stripe counts most currencies in hundredths, whatever ISO says, with its own
exceptions (https://docs.stripe.com/currencies):

* zero-decimal currencies (JPY, KRW, PYG, UGX, …): the amount is whole units;
* three-decimal currencies (BHD, JOD, KWD, OMR, TND): thousandths, as in ISO;
* special cases: ISK moved to zero decimals but Stripe keeps it two-decimal for
  backwards compatibility (5 ISK is sent as 500); HUF and TWD are charged as
  two-decimal amounts (they are zero-decimal only for payouts).

So 500 in ISK from Stripe is 5 króna, and must be stored as 5, not 500: the
shop would otherwise read its takings a hundred times too large. The true
exponent comes from babel (CLDR), the same table the admin formats with.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from shoptrail.events.money import minor_digits

STRIPE_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
"""Stripe's zero-decimal list: its amount is in whole units."""

STRIPE_THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
"""Stripe's three-decimal list: its amount is in thousandths."""

STRIPE_TWO_DECIMAL_SPECIAL_CASES = frozenset(["ISK", "HUF", "TWD"])
"""Sent to and from Stripe in hundredths although ISO or CLDR say otherwise (see above)."""


def stripe_digits(currency: str) -> int:
    """How many decimals Stripe's integer amount has in `currency`."""
    code = currency.upper()
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2  # every other currency, and the two-decimal special cases


def minor_units_from_stripe(amount: int, currency: str) -> int:
    """Stripe's amount as ISO minor units: ISK 500 → 5; KWD 1230 → 1230; JPY 500 → 500.

    Where Stripe carries more decimals than the currency has (HUF 10.50 can be
    charged, CLDR counts forints whole), the amount rounds half up to the unit.
    """
    shift: int = minor_digits(currency) - stripe_digits(currency)
    if shift >= 0:
        return int(amount * 10**shift)
    exact = Decimal(amount).scaleb(shift)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
