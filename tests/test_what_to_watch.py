"""The runbook's "What to watch" table is what the processes serve, on the ports it says.

Each row names a process, its port and the setting that moves it, and whether
it has `/metrics`. Checked against each service's own app (a route that exists
answers an unsupported method 405, one that does not 404, without running a
handler), the settings' defaults and `make dev`'s ports.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import FastAPI

from shoptrail.activity.bootstrap import create_app as activity_app
from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.admin_ui.bootstrap import create_app as admin_ui_app
from shoptrail.admin_ui.config import Settings as AdminUiSettings
from shoptrail.fulfilment.bootstrap import create_app as fulfilment_app
from shoptrail.fulfilment.config import Settings as FulfilmentSettings
from shoptrail.ingest.bootstrap import create_app as ingest_app
from shoptrail.ingest.config import Settings as IngestSettings
from shoptrail.kit.workers import worker_door
from shoptrail.notifier.bootstrap import create_app as notifier_app
from shoptrail.notifier.config import Settings as NotifierSettings

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "deploy" / "local") not in sys.path:
    sys.path.append(str(REPO / "deploy" / "local"))

import dev  # noqa: E402
import stack  # noqa: E402

ROW = re.compile(
    r"^\| (?P<service>[a-z-]+) `(?P<command>serve|worker)` \| (?P<port>\d+) "
    r"\(`(?P<setting>[A-Z_]+)`[^|]*\| [^|]+ \| (?P<metrics>[^|]+) \|$",
    re.MULTILINE,
)


PATHS = ("/healthz", "/readyz", "/metrics")


class Row(NamedTuple):
    process: str
    port: int
    setting: str
    has_metrics: bool


def rows() -> list[Row]:
    text = (REPO / "deploy" / "README.md").read_text()
    section = text[text.index("## What to watch") :]
    section = section[: section.index("\n## ")]
    found = [
        Row(
            m["service"] if m["command"] == "serve" else f"{m['service']}-worker",
            int(m["port"]),
            m["setting"],
            not m["metrics"].strip().startswith("—"),
        )
        for m in ROW.finditer(section)
    ]
    assert found, "no rows parsed from What to watch"
    return found


def _door() -> FastAPI:
    return worker_door("worker", checks={}, components=tuple)


APPS: dict[str, tuple[Callable[[], FastAPI], Any]] = {
    "ingest": (lambda: ingest_app(IngestSettings()), IngestSettings),
    "activity": (lambda: activity_app(ActivitySettings()), ActivitySettings),
    "fulfilment": (lambda: fulfilment_app(FulfilmentSettings()), FulfilmentSettings),
    "notifier": (lambda: notifier_app(NotifierSettings()), NotifierSettings),
    "admin-ui": (lambda: admin_ui_app(AdminUiSettings()), AdminUiSettings),
    "fulfilment-worker": (_door, FulfilmentSettings),
    "notifier-worker": (_door, NotifierSettings),
}


def test_every_long_running_process_of_make_dev_has_a_row() -> None:
    planned = {p.name for p in dev.processes(stack.paths_from_env(), dev.Ports()) if p.service}
    assert {row.process for row in rows()} == planned - {"fake-provider", "fake-stripe"}


@pytest.mark.parametrize("row", rows(), ids=lambda row: row.process)
async def test_the_row_is_what_the_process_serves(row: Row) -> None:
    make_app, settings = APPS[row.process]
    field = row.setting.removeprefix(settings.model_config["env_prefix"]).lower()
    assert settings.model_fields[field].default == row.port
    urls = dev.plan(stack.paths_from_env(), dev.Ports())["urls"]
    assert isinstance(urls, dict)
    assert urls[row.process] == f"http://127.0.0.1:{row.port}"

    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        # An unsupported method: 405 where the route exists, 404 where it does not.
        status = {p: (await http.request("DELETE", p)).status_code for p in PATHS}
    assert status["/healthz"] == status["/readyz"] == 405
    assert status["/metrics"] == (405 if row.has_metrics else 404)
