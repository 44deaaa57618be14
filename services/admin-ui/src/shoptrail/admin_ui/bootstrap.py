"""The one place the admin-ui application is assembled."""

from __future__ import annotations

from fastapi import FastAPI

import shoptrail.admin_ui
from shoptrail.admin_ui.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the admin-ui app from its settings; nothing is created at import time."""
    app = FastAPI(
        title="Shoptrail admin-ui",
        description=shoptrail.admin_ui.__doc__ or "",
        version="0.1.0",
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": "admin-ui"}

    return app
