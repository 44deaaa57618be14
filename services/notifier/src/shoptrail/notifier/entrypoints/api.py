"""HTTP routes: the shop owner's settings (service token) and the customers' unsubscribe pages."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from shoptrail.events.hygiene import clean_text
from shoptrail.kit.auth import AUTH_RESPONSES, service_token_guard
from shoptrail.notifier.bootstrap import Notifier
from shoptrail.notifier.config import Settings
from shoptrail.notifier.domain import addresses
from shoptrail.notifier.domain.model import ShopSettings
from shoptrail.notifier.service_layer import shop_settings, suppression


def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(_notifier)]

INVALID_SETTING = "invalid_setting"


def _checked(check: Callable[[str], str], value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check(value)
    except addresses.InvalidSettingError as error:
        # A custom error's message is shown as it is (no "Value error, " in front).
        raise PydanticCustomError(INVALID_SETTING, str(error)) from None


class ShopSettingsView(BaseModel):
    """The shop owner's email settings, as stored."""

    sender_name: str | None = Field(default=None, examples=["Sam's Prints"])
    sender_address: str | None = Field(default=None, examples=["hello@samsprints.shop"])
    recovery_enabled: bool = Field(
        default=False, description="Send one abandoned-cart email per expired checkout."
    )


class ShopSettingsBody(ShopSettingsView):
    """The shop owner's email settings, checked as a mail server would check them."""

    model_config = ConfigDict(extra="forbid")

    sender_name: str | None = Field(
        default=None,
        description="Any script; no line breaks or other control characters.",
        examples=["Sam's Prints"],
        json_schema_extra={"maxLength": addresses.MAX_DISPLAY_NAME},
    )
    sender_address: str | None = Field(
        default=None,
        description=(
            "ASCII before the @ (SMTPUTF8 is not assumed); an internationalised domain "
            "is stored in its IDNA form: shop@exämple.com becomes shop@xn--exmple-cua.com."
        ),
        examples=["hello@samsprints.shop"],
        json_schema_extra={"maxLength": addresses.MAX_ADDRESS},
    )

    @field_validator("sender_name")
    @classmethod
    def _sender_name(cls, value: str | None) -> str | None:
        return _checked(addresses.display_name, value)

    @field_validator("sender_address")
    @classmethod
    def _sender_address(cls, value: str | None) -> str | None:
        return _checked(addresses.smtp_address, value)


def _field_label(loc: tuple[int | str, ...]) -> str:
    name = next((part for part in loc[1:] if isinstance(part, str)), "request body")
    return name.replace("_", " ").capitalize()


def _clean_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Each complaint with its field named; no echo of the input, which may not even encode."""
    cleaned = []
    for problem in error.errors():
        loc = tuple(problem.get("loc", ()))
        message = str(problem.get("msg", "invalid"))
        if problem.get("type") != INVALID_SETTING:
            message = f"{_field_label(loc)}: {message}"
        cleaned.append(
            {
                "type": str(problem.get("type", "invalid")),
                "loc": [part if isinstance(part, int) else clean_text(str(part)) for part in loc],
                "msg": clean_text(message),
            }
        )
    return cleaned


class _RefusesCleanly(APIRoute):
    """A 422 that says what is wrong, never a 500 for input JSON could carry but UTF-8 cannot."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return JSONResponse(
                    {"detail": _clean_errors(error)},
                    status_code=422,
                )

        return route


def settings_router(settings: Settings) -> APIRouter:
    """`GET/PUT /settings`, for callers holding the service token."""
    router = APIRouter(
        prefix="/settings",
        tags=["settings"],
        dependencies=[Depends(service_token_guard(settings.service_token))],
        responses=AUTH_RESPONSES,
        route_class=_RefusesCleanly,
    )

    @router.get("")
    async def read(notifier: NotifierDep) -> ShopSettingsView:
        """The sender identity every email uses, and whether cart recovery is on."""
        current = await shop_settings.read_settings(uow=notifier.uow())
        return ShopSettingsView(**vars(current))

    @router.put("")
    async def replace(body: ShopSettingsBody, notifier: NotifierDep) -> ShopSettingsView:
        """Replace the settings (all fields); emails held for the operator try again.

        A sender a mail server would refuse is refused here (422, saying what is
        wrong); an internationalised domain is stored in its IDNA form.
        """
        wanted = ShopSettings(**body.model_dump())
        await shop_settings.update_settings(
            settings=wanted, uow=notifier.uow(), clock=notifier.clock, queue=notifier.queue
        )
        return ShopSettingsView(**vars(wanted))

    return router


_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(notifier: Notifier, name: str, code: int = 200, **context: str) -> HTMLResponse:
    html = notifier.templates.get_template(f"pages/{name}.html").render(context)
    return HTMLResponse(html, status_code=code, headers=_PRIVATE)


def unsubscribe_router() -> APIRouter:
    """One-click unsubscribe (RFC 8058): GET asks, POST does; the signed token is the auth."""
    router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

    invalid: dict[int | str, dict[str, Any]] = {
        400: {"description": "A link this shop did not sign (or altered)."}
    }

    @router.get("/{token}", response_class=HTMLResponse, responses=invalid)
    async def confirm(token: str, request: Request, notifier: NotifierDep) -> HTMLResponse:
        """A confirmation page; following the link (or a mail scanner) changes nothing."""
        try:
            email = suppression.check_token(token, tokens=notifier.tokens)
        except suppression.InvalidTokenError:
            return _page(notifier, "invalid_link", status.HTTP_400_BAD_REQUEST)
        return _page(notifier, "unsubscribe", email=email, action=str(request.url.path))

    @router.post("/{token}", response_class=HTMLResponse, responses=invalid)
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
