"""What every route shares: the services, the templates, page rendering with the nav badge."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from shoptrail.admin_ui.auth import csrf
from shoptrail.admin_ui.auth.sessions import current_user, safe_next
from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.domain import presentation, timefmt
from shoptrail.admin_ui.domain.models import money
from shoptrail.admin_ui.service_layer.ports import (
    ActivityPort,
    FulfilmentPort,
    JobsPort,
    NotifierPort,
)
from shoptrail.events.ids import uuid7

PACKAGE = Path(__file__).resolve().parent.parent
STATIC = PACKAGE / "static"
FLASH_KEY = "flash"


@dataclass(frozen=True)
class Services:
    """The ports the routes use (HTTP clients in the app, the same in tests)."""

    activity: ActivityPort
    fulfilment: FulfilmentPort
    notifier: NotifierPort
    jobs: Mapping[str, JobsPort] = field(default_factory=dict)
    """Each job-running service's queue, by service name."""


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def safe_href(url: object) -> str | None:
    """A link only if it is http(s): a `javascript:` URL from a payload must never be clickable."""
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


def trace_href(template: str | None, trace_id: str | None) -> str | None:
    """The operator's trace viewer's page for `trace_id` (settings' `trace_url`), if set."""
    if not template or not trace_id:
        return None
    return template.replace("{trace_id}", quote(trace_id, safe=""))


def build_templates(settings: Settings) -> jinja2.Environment:
    """Jinja2 with autoescaping on for everything, and the admin's time and label filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )
    zone = settings.zone
    env.filters |= {
        "short_time": lambda when, now: timefmt.short_time(when, now=now, zone=zone),
        "full_time": lambda when: timefmt.full_timestamp(when, zone=zone),
        "ago": lambda when, now: timefmt.relative_time(when, now=now),
        "event_label": presentation.event_label,
        "how_many": presentation.how_many,
        "safe_href": safe_href,
        "segment": lambda value: quote(str(value), safe=""),
        "price": lambda m: money(m.get("amount"), m.get("currency")) if isinstance(m, dict) else "",
        "price_of": money,
    }
    versions = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC.iterdir()}
    env.globals |= {
        "static": lambda name: f"/static/{name}?v={versions.get(name, '0')}",
        "actions_for": presentation.actions_for,
        "trace_href": lambda trace_id: trace_href(settings.trace_url, trace_id),
        "new_note_id": lambda: str(uuid7()),
        "CATEGORY_LABELS": presentation.CATEGORY_LABELS,
        "ORDER_STATUS_LABELS": presentation.ORDER_STATUS_LABELS,
        "LEVEL_LABELS": presentation.LEVEL_LABELS,
    }
    return env


def flash(request: Request, message: str) -> None:
    """A one-time notice shown on the next page."""
    request.session[FLASH_KEY] = [*request.session.get(FLASH_KEY, []), message][-3:]


def render_fragment(request: Request, name: str, **context: Any) -> str:
    env: jinja2.Environment = request.app.state.templates
    defaults = {"now": datetime.now(UTC), "csrf_token": csrf.session_token(request)}
    return env.get_template(name).render(defaults | context)


async def render_page(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    live: str = "badge",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A full page: the nav (with the live badge), notices, CSRF token, then the template."""
    user = await current_user(request)
    services: Services = request.app.state.services
    count = await services.activity.attention_count() if user else 0
    html = render_fragment(
        request,
        name,
        user=user,
        attention_count=count,
        csrf_token=csrf.session_token(request),
        flashes=request.session.pop(FLASH_KEY, []),
        live=live if user else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


def wants_fragment(request: Request) -> bool:
    """The page's script asked (it sends this header); a plain form post gets a redirect."""
    return request.headers.get("X-Requested-With") == "fetch"


def back_to(target: str | None) -> RedirectResponse:
    return RedirectResponse(safe_next(target), status_code=303)
