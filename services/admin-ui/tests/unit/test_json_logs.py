"""The admin as it runs: every line it writes, uvicorn's included, is JSON naming it.

uvicorn's default logging config gives its own loggers plain-text handlers;
a log shipper then sees `INFO: 127.0.0.1 - "GET / HTTP/1.1" 200` among the
JSON lines. Started here exactly as `make dev` and the image start it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from typing import Any

import httpx

RUNNING = re.compile(r"Uvicorn running on (http://\S+)")


async def _json_line(stream: asyncio.StreamReader) -> dict[str, Any]:
    line = await stream.readline()
    assert line, "the admin stopped writing"
    entry: dict[str, Any] = json.loads(line)  # a plain-text line fails here
    return entry


async def test_the_served_admin_logs_json_lines_naming_itself() -> None:
    env = {**os.environ, "ADMIN_UI_ENVIRONMENT": "dev", "ADMIN_UI_LOG_LEVEL": "INFO"}
    admin = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shoptrail.admin_ui", "serve", "--port", "0",
        env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert admin.stderr is not None
    entries: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while not (url := RUNNING.search(entries[-1]["message"] if entries else "")):
                entries.append(await _json_line(admin.stderr))
            async with httpx.AsyncClient(base_url=url.group(1)) as http:
                assert (await http.get("/healthz", params={"probe": "secret"})).status_code == 200
            while entries[-1]["logger"] != "uvicorn.access":
                entries.append(await _json_line(admin.stderr))
    finally:
        admin.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(admin.communicate(), 30)
    entries += [json.loads(line) for line in rest.decode().splitlines() if line.strip()]

    assert {entry["service"] for entry in entries} == {"admin-ui"}
    access = next(e for e in entries if e["logger"] == "uvicorn.access")
    assert "GET /healthz?probe=…" in access["message"]
    assert any(e["logger"] == "uvicorn.error" and "Shutting down" in e["message"] for e in entries)
    assert not any("color_message" in entry for entry in entries)
