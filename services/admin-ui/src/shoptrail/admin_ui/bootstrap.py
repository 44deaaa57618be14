"""The one place the admin-ui application is assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Scope

import shoptrail.admin_ui
from shoptrail.admin_ui.adapters.activity import ActivityClient
from shoptrail.admin_ui.adapters.fulfilment import FulfilmentClient
from shoptrail.admin_ui.adapters.groups import GroupsClient
from shoptrail.admin_ui.adapters.http import service_client
from shoptrail.admin_ui.adapters.jobs import JobsClient
from shoptrail.admin_ui.adapters.notifier import NotifierClient
from shoptrail.admin_ui.auth.csrf import csrf_protect
from shoptrail.admin_ui.auth.sessions import LoginRequiredError
from shoptrail.admin_ui.auth.throttle import LoginThrottle
from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.entrypoints import (
    alert_settings_page,
    auth_routes,
    entry_page,
    export,
    feed,
    groups_page,
    jobs_page,
    live,
    notes,
    orders,
    settings_page,
)
from shoptrail.admin_ui.entrypoints.security import SecurityHeaders
from shoptrail.admin_ui.entrypoints.web import (
    STATIC,
    Services,
    build_templates,
    render_fragment,
    wants_fragment,
)
from shoptrail.admin_ui.service_layer.ports import (
    InvalidInputError,
    NotFoundError,
    RefusedError,
    UpstreamError,
)
from shoptrail.kit.auth import guard_operations
from shoptrail.kit.health import health_router
from shoptrail.kit.inputs import RefusedInputError, StorableInput
from shoptrail.kit.metrics import instrument_http, serve_metrics
from shoptrail.kit.tracing import http_telemetry

_PAGE_OR_JSON: dict[str, Any] = {"text/html": {}, "application/json": {}}
_REDIRECT: dict[int | str, dict[str, Any]] = {
    303: {"description": "To the next page after a form, or to the login page (no body)."},
}
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = _REDIRECT | {
    code: {"description": text, "content": _PAGE_OR_JSON}
    for code, text in {
        400: "Not a valid request: the page says why.",
        401: "Not logged in (the page's script), or a wrong password.",
        403: "A form without this session's CSRF token, or from another site.",
        404: "No such order or entry.",
        413: "A form larger than the admin takes.",
        422: "A setting a service refused: the page shows its reason.",
        429: "Too many login tries: try again in the time the page says.",
        502: "A service behind the admin is not answering: try again shortly.",
    }.items()
}
"""What any admin page may answer besides its own 200 (every form and link goes through
the same guards)."""


def create_app(settings: Settings) -> FastAPI:
    """Build the admin-ui app from its settings; nothing is created at import time."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:

            async def client(url: str, token: SecretStr) -> httpx.AsyncClient:
                made = service_client(url, token, settings.upstream_timeout_s)
                return await stack.enter_async_context(made)

            fulfilment = await client(settings.fulfilment_url, settings.fulfilment_token)
            notifier = await client(settings.notifier_url, settings.notifier_token)
            activity = await client(settings.activity_url, settings.activity_token)
            app.state.groups = GroupsClient(activity)  # grouped failures (groups_page)
            app.state.services = Services(
                activity=ActivityClient(activity),
                fulfilment=FulfilmentClient(fulfilment),
                notifier=NotifierClient(notifier),
                jobs={
                    "fulfilment": JobsClient("fulfilment", fulfilment),
                    "notifier": JobsClient("notifier", notifier),
                },
            )
            yield

    app = FastAPI(
        telemetry=http_telemetry(),
        title="Shoptrail admin-ui",
        description=shoptrail.admin_ui.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # pages for people, not an API; app.openapi() still describes them
        responses=PAGE_RESPONSES,
    )
    app.state.settings = settings
    app.state.templates = build_templates(settings)
    app.state.login_throttle = LoginThrottle(
        free_tries=settings.login_free_tries,
        max_user_delay_s=settings.login_max_user_delay_s,
        max_address_delay_s=settings.login_max_address_delay_s,
    )

    async def refused_input(scope: Scope, refused: RefusedInputError) -> Response:
        return _page(Request(scope), refused.status, "Not a valid request", refused.detail)

    app.add_middleware(StorableInput, respond=refused_input)
    # Added last = outermost: the headers go on every response, sessions included.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="shoptrail_admin",
        max_age=settings.session_lifetime_s,  # the server ends idle sessions sooner
        same_site="lax",
        https_only=settings.cookies_secure,
    )
    app.add_middleware(SecurityHeaders, ws_origin=settings.ws_origin, hsts=settings.cookies_secure)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth_routes,
        orders,
        feed,
        export,
        live,
        settings_page,
        alert_settings_page,
        jobs_page,
        entry_page,
        notes,
        groups_page,
    ):
        app.include_router(module.router)
    _add_error_pages(app)

    @app.get("/", include_in_schema=False)
    @app.get("/admin", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/admin/activity", status_code=303)

    async def activity_answers() -> bool:
        services: Services | None = getattr(app.state, "services", None)
        return services is not None and await services.activity.answers()

    # Every page is read from the activity service: the admin is ready when it answers.
    app.include_router(health_router("admin-ui", checks={"activity": activity_answers}))
    _add_metrics(app, settings)
    return app


def _add_metrics(app: FastAPI, settings: Settings) -> None:
    """`/metrics`, guarded as every service guards it: the service token in prod, open in dev.

    Not behind the admin's login: Prometheus has no session and should not
    hold a shop owner's password, and an admin session should not be what
    reads operational data. A bearer token (`ADMIN_UI_SERVICE_TOKEN`) is what
    the other services' scrapes already carry, so one scrape configuration fits
    all five. The guard answers before sessions or CSRF are looked at.
    """
    registry = CollectorRegistry(auto_describe=True)
    serve_metrics(app, registry)
    guard_operations(app, environment=settings.environment, token=settings.service_token)
    instrument_http(app, registry)


def _page(request: Request, code: int, title: str, detail: str) -> Response:
    """An error page (or `{"detail": …}` for the page's script)."""
    if wants_fragment(request):
        return JSONResponse({"detail": detail}, status_code=code)
    html = render_fragment(
        request,
        "error.html",
        title=title,
        detail=detail,
        user=None,
        attention_count=0,
        flashes=[],
        live="",
        path=request.url.path,
    )
    return HTMLResponse(html, status_code=code)


def _add_error_pages(app: FastAPI) -> None:
    page = _page

    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        if wants_fragment(request):
            return JSONResponse({"detail": "not logged in"}, status_code=401)
        return RedirectResponse(exc.login_url, status_code=303)

    @app.exception_handler(UpstreamError)
    async def upstream(request: Request, exc: UpstreamError) -> Response:
        return page(
            request,
            502,
            "A service is not answering",
            f"The {exc.service} service is {exc.detail}. Try again in a moment.",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:])
        detail = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return page(request, 400, "Not a valid request", detail)

    @app.exception_handler(InvalidInputError)
    async def invalid_input(request: Request, exc: InvalidInputError) -> Response:
        return page(request, 400, "Not a valid request", str(exc))

    @app.exception_handler(RefusedError)
    async def refused(request: Request, exc: RefusedError) -> Response:
        return page(request, 400, "Refused", exc.reason)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return page(request, 404, "Not found", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {403: "Refused", 404: "Not found", 405: "Not allowed"}
        return page(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
