"""The Alerts section of the settings page: where and how often the owner hears about
entries that need attention (the notifier keeps and checks the settings)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.domain.models import AlertSettings
from shoptrail.admin_ui.entrypoints.web import ServicesDep, flash, render_page
from shoptrail.admin_ui.service_layer.ports import RefusedError

router = APIRouter(prefix="/admin/settings", tags=["settings"])


@router.post("/alerts")
async def save_alert_settings(
    request: Request,
    services: ServicesDep,
    _: UserDep,
    enabled: Annotated[bool, Form()] = False,
    email: Annotated[str, Form(max_length=254)] = "",
    digest_minutes: Annotated[int, Form(ge=1, le=1440)] = 15,
    quiet_start: Annotated[str, Form(max_length=5)] = "",
    quiet_end: Annotated[str, Form(max_length=5)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    webhook_url: Annotated[str, Form(max_length=2000)] = "",
    webhook_secret: Annotated[str, Form(max_length=200)] = "",
    clear_webhook_secret: Annotated[bool, Form()] = False,
) -> Response:
    """Save the alert settings; an empty secret field keeps the stored secret."""
    wanted: dict[str, Any] = {
        "enabled": enabled,
        "email": email.strip() or None,
        "digest_minutes": digest_minutes,
        "quiet_start": quiet_start or None,
        "quiet_end": quiet_end or None,
        "timezone": timezone.strip() or "UTC",
        "webhook_url": webhook_url.strip() or None,
    }
    if clear_webhook_secret:
        wanted["webhook_secret"] = ""
    elif webhook_secret.strip():
        wanted["webhook_secret"] = webhook_secret.strip()
    try:
        await services.notifier.write_alert_settings(wanted)
    except RefusedError as exc:
        shop = await services.notifier.read_settings()
        current = await services.notifier.read_alert_settings()
        shown = AlertSettings.model_construct(
            **(wanted | {"webhook_secret_hint": current.webhook_secret_hint})
        )
        return await render_page(
            request,
            "settings.html",
            status_code=422,
            shop=shop,
            error=None,
            alerts=shown,
            alerts_error=f"Not saved: {exc.reason}",
        )
    flash(request, "Alert settings saved.")
    return RedirectResponse("/admin/settings#alerts", status_code=303)
