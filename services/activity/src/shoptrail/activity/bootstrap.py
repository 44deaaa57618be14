"""The one place the activity application is assembled."""

from __future__ import annotations

from fastapi import FastAPI

import shoptrail.activity
from shoptrail.activity.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the activity app from its settings; nothing is created at import time."""
    app = FastAPI(
        title="Shoptrail activity",
        description=shoptrail.activity.__doc__ or "",
        version="0.1.0",
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": "activity"}

    return app
