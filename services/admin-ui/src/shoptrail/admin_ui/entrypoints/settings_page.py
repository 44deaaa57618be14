"""The shop's email settings, kept by the notifier."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.domain.models import ShopSettings
from shoptrail.admin_ui.entrypoints.web import ServicesDep, flash, render_page
from shoptrail.admin_ui.service_layer.ports import RefusedError

router = APIRouter(prefix="/admin/settings", tags=["settings"])


@router.get("", response_class=HTMLResponse)
async def settings_form(request: Request, services: ServicesDep, _: UserDep) -> HTMLResponse:
    current = await services.notifier.read_settings()
    alerts = await services.notifier.read_alert_settings()
    return await render_page(
        request, "settings.html", shop=current, error=None, alerts=alerts, alerts_error=None
    )


@router.post("")
async def save_settings(
    request: Request,
    services: ServicesDep,
    _: UserDep,
    sender_name: Annotated[str, Form(max_length=100)] = "",
    sender_address: Annotated[str, Form(max_length=254)] = "",
    recovery_enabled: Annotated[bool, Form()] = False,
) -> Response:
    """Save all three settings; the notifier's validation message is shown when it says no."""
    try:
        wanted = ShopSettings(
            sender_name=sender_name.strip() or None,
            sender_address=sender_address.strip() or None,
            recovery_enabled=recovery_enabled,
        )
        await services.notifier.write_settings(wanted)
    except (RefusedError, ValidationError) as exc:
        reason = exc.reason if isinstance(exc, RefusedError) else "invalid value"
        shown = ShopSettings.model_construct(
            sender_name=sender_name,
            sender_address=sender_address,
            recovery_enabled=recovery_enabled,
        )
        return await render_page(
            request,
            "settings.html",
            status_code=422,
            shop=shown,
            error=f"Not saved: {reason}",
            alerts=await services.notifier.read_alert_settings(),
            alerts_error=None,
        )
    flash(request, "Settings saved.")
    return RedirectResponse("/admin/settings", status_code=303)
