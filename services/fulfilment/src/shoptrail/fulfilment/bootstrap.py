"""The one place the fulfilment application is assembled."""

from __future__ import annotations

from fastapi import FastAPI

import shoptrail.fulfilment
from shoptrail.fulfilment.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the fulfilment app from its settings; nothing is created at import time."""
    app = FastAPI(
        title="Shoptrail fulfilment",
        description=shoptrail.fulfilment.__doc__ or "",
        version="0.1.0",
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": "fulfilment"}

    return app
