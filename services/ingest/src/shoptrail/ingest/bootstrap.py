"""The one place the ingest application is assembled."""

from __future__ import annotations

from fastapi import FastAPI

import shoptrail.ingest
from shoptrail.ingest.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the ingest app from its settings; nothing is created at import time."""
    app = FastAPI(
        title="Shoptrail ingest",
        description=shoptrail.ingest.__doc__ or "",
        version="0.1.0",
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": "ingest"}

    return app
