"""Problems only the shop's operator can fix at a provider: a refused token, a missing shop (pure).

Retrying does not fix them, and every order meeting one is not its own
failure: the problem is said once, with what to change, and what it stops
waits (orders keep their attempts) until a call to that provider succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shoptrail.fulfilment.domain.model import ProviderName

SERVICE = "fulfilment"

Scope = Literal["orders.read", "orders.write", "products.read"]
"""What a provider call needs the token to be allowed (Printify's scope names)."""

_TOKEN_SETTING: dict[ProviderName, str] = {
    "Printify": "FULFILMENT_PRINTIFY_TOKEN",
    "Printful": "FULFILMENT_PRINTFUL_TOKEN",
}
_WHAT_A_TOKEN_NEEDS: dict[ProviderName, str] = {
    "Printify": "a valid Printify API token with the orders.read, orders.write and "
    "products.read scopes",
    "Printful": "a valid Printful private token for your store that may manage orders "
    "and view store products",
}
_SCOPE_WORDS: dict[Scope, tuple[str, str]] = {
    # what the call does; what stops without it
    "orders.write": ("create orders", "new orders wait unsubmitted"),
    "orders.read": ("read orders", "order lookups and status checks are paused"),
    "products.read": ("read products", "product sync is paused"),
}
_RESTART = "then restart fulfilment (serve and worker)"
_RESUME = "waiting orders are then submitted automatically"


@dataclass(frozen=True)
class OperatorProblem:
    """What stopped, in the shop's words, and what to change; `key` is stable per problem.

    `scope` None: the provider refuses every call, so any call that succeeds
    proves it fixed; otherwise only a call needing the same scope does.
    """

    key: str
    provider: ProviderName
    summary: str
    fix: str
    when_cleared: str
    detail: str | None = None
    scope: Scope | None = None

    def cleared_by(self, provider: ProviderName, scopes: frozenset[Scope]) -> bool:
        """Whether a successful call to `provider` needing `scopes` shows the problem is gone."""
        return provider == self.provider and (self.scope is None or self.scope in scopes)


def token_refused(provider: ProviderName, detail: str | None = None) -> OperatorProblem:
    """HTTP 401: the provider does not accept the token at all (wrong, revoked, expired)."""
    return OperatorProblem(
        key=f"{SERVICE}.{provider.lower()}_auth",
        provider=provider,
        summary=f"{provider} refuses the API token: orders to {provider} wait unsubmitted, "
        "status checks and product sync are paused",
        fix=f"set {_TOKEN_SETTING[provider]} to {_WHAT_A_TOKEN_NEEDS[provider]}, "
        f"{_RESTART}; {_RESUME}",
        when_cleared=f"{provider} accepts the API token again: waiting orders are being "
        "submitted, status checks and product sync resume",
        detail=detail,
    )


def access_refused(
    provider: ProviderName, scope: Scope, detail: str | None = None, *, shop: str | None = None
) -> OperatorProblem:
    """HTTP 403: the token is valid but may not do this (a missing scope, a shop not its own)."""
    action, stopped = _SCOPE_WORDS[scope]
    if provider == "Printify":
        fix = (
            f"give the token the {scope} scope (Printify: My account → Connections → "
            f"generate a token with it) and set it as {_TOKEN_SETTING[provider]}"
        )
        if shop is not None:
            fix += f", and check that shop {shop} (FULFILMENT_PRINTIFY_SHOP_ID) is one the "
            fix += "token's account owns"
    else:
        fix = (
            f"set {_TOKEN_SETTING[provider]} to a private token of your store that may "
            f"{action} (Printful: Settings → API)"
        )
    return OperatorProblem(
        key=f"{SERVICE}.{provider.lower()}_forbidden_{scope.replace('.', '_')}",
        provider=provider,
        summary=f"{provider} does not let the API token {action}: {stopped}",
        fix=f"{fix}, {_RESTART}",
        when_cleared=f"{provider} lets the API token {action} again: {_resumed(scope)}",
        detail=detail,
        scope=scope,
    )


def shop_not_found(provider: ProviderName, shop: str, detail: str | None = None) -> OperatorProblem:
    """HTTP 404 on a shop's own collections: the configured shop id names no shop."""
    return OperatorProblem(
        key=f"{SERVICE}.{provider.lower()}_shop",
        provider=provider,
        summary=f"{provider} has no shop {shop}: orders to {provider} wait unsubmitted, "
        "status checks and product sync are paused",
        fix=f"set FULFILMENT_{provider.upper()}_SHOP_ID to your shop's id (GET /v1/shops.json "
        f"with the token lists them), {_RESTART}; {_RESUME}",
        when_cleared=f"{provider} finds the shop again: waiting orders are being submitted, "
        "status checks and product sync resume",
        detail=detail,
    )


def _resumed(scope: Scope) -> str:
    match scope:
        case "orders.write":
            return "waiting orders are being submitted"
        case "orders.read":
            return "order lookups and status checks resume"
        case "products.read":
            return "product sync resumes"
