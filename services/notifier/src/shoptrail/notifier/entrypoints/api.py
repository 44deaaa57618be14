"""HTTP routes: the shop owner's settings (service token) and the customers' unsubscribe pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from shoptrail.kit.auth import service_token_guard
from shoptrail.notifier.bootstrap import Notifier
from shoptrail.notifier.config import Settings
from shoptrail.notifier.domain.model import ShopSettings
from shoptrail.notifier.service_layer import shop_settings, suppression


def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(_notifier)]

EMAIL_PATTERN = r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$"


class ShopSettingsBody(BaseModel):
    """The shop owner's email settings."""

    model_config = ConfigDict(extra="forbid")

    sender_name: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[^\r\n]+$", examples=["Sam's Prints"]
    )
    sender_address: str | None = Field(
        default=None, max_length=254, pattern=EMAIL_PATTERN, examples=["hello@samsprints.shop"]
    )
    recovery_enabled: bool = Field(
        default=False, description="Send one abandoned-cart email per expired checkout."
    )


def settings_router(settings: Settings) -> APIRouter:
    """`GET/PUT /settings`, for callers holding the service token."""
    router = APIRouter(
        prefix="/settings",
        tags=["settings"],
        dependencies=[Depends(service_token_guard(settings.service_token))],
    )

    @router.get("")
    async def read(notifier: NotifierDep) -> ShopSettingsBody:
        """The sender identity every email uses, and whether cart recovery is on."""
        current = await shop_settings.read_settings(uow=notifier.uow())
        return ShopSettingsBody(**vars(current))

    @router.put("")
    async def replace(body: ShopSettingsBody, notifier: NotifierDep) -> ShopSettingsBody:
        """Replace the settings (all fields)."""
        await shop_settings.update_settings(
            settings=ShopSettings(**body.model_dump()), uow=notifier.uow(), clock=notifier.clock
        )
        return body

    return router


_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(notifier: Notifier, name: str, code: int = 200, **context: str) -> HTMLResponse:
    html = notifier.templates.get_template(f"pages/{name}.html").render(context)
    return HTMLResponse(html, status_code=code, headers=_PRIVATE)


def unsubscribe_router() -> APIRouter:
    """One-click unsubscribe (RFC 8058): GET asks, POST does; the signed token is the auth."""
    router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

    @router.get("/{token}", response_class=HTMLResponse)
    async def confirm(token: str, request: Request, notifier: NotifierDep) -> HTMLResponse:
        """A confirmation page; following the link (or a mail scanner) changes nothing."""
        try:
            email = suppression.check_token(token, tokens=notifier.tokens)
        except suppression.InvalidTokenError:
            return _page(notifier, "invalid_link", status.HTTP_400_BAD_REQUEST)
        return _page(notifier, "unsubscribe", email=email, action=str(request.url.path))

    @router.post("/{token}", response_class=HTMLResponse)
    async def unsubscribe(token: str, notifier: NotifierDep) -> HTMLResponse:
        """Suppress the address from recovery emails (the page's button, or a one-click POST)."""
        try:
            await suppression.unsubscribe(
                token=token, tokens=notifier.tokens, uow=notifier.uow(), clock=notifier.clock
            )
        except suppression.InvalidTokenError:
            return _page(notifier, "invalid_link", status.HTTP_400_BAD_REQUEST)
        return _page(notifier, "unsubscribed")

    return router
