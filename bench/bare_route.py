"""The load benchmark's baseline: a bare FastAPI route that reads the body and answers 200.

    python bench/bare_route.py PORT

What any web service costs on this machine at a rate, so the benchmark can say
what ingest (signature, parsing, Kafka's acknowledgement) and the rest of the
shop on the same cores add to it.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/webhooks/stripe")
async def webhook(request: Request) -> dict[str, str]:
    await request.body()
    return {"status": "published"}


@app.get("/healthz")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
