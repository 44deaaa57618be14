"""Fixtures for the end-to-end story: the whole shop from the launcher, a real browser.

`launched_shop` is `make dev --no-demo` started from `dev.py --plan`, process by
process, on private ports, Kafka, PostgreSQL and state (see `launcher.py`).

These live in `tests/e2e/` rather than `tests/`: mypy maps a root
`tests/conftest.py` and `services/admin-ui/tests/conftest.py` (whose folder is a
mypy base) to the same module, `tests.conftest`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext

from shoptrail.admin_ui.devtools.browser import launch_chromium
from shoptrail.testing.otlp import Receiver, otlp_receiver

REPO = Path(__file__).resolve().parents[2]
for folder in (REPO, REPO / "deploy" / "local"):
    # `tests.e2e.launcher` (typed, importable by the tests, unlike a conftest) and the
    # launcher's own modules (dev, stack, senders, demo_doors) rather than copies of them.
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

from tests.e2e.launcher import LaunchedShop, launch  # noqa: E402


@pytest.fixture(scope="module")
def otlp() -> Iterator[Receiver]:
    """Where the launched shop's processes export their spans (OTLP over HTTP)."""
    with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
async def launched_shop(
    tmp_path_factory: pytest.TempPathFactory, otlp: Receiver
) -> AsyncIterator[LaunchedShop]:
    """`make dev --no-demo` on private ports, Kafka, PostgreSQL and state, process by process,
    with tracing exported to `otlp` as an operator would turn it on."""
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_BSP_SCHEDULE_DELAY": "500"}
    async with launch(tmp_path_factory.mktemp("launched-shop"), everywhere=tracing) as shop:
        yield shop


# ---- the browser ----------------------------------------------------------------


@pytest.fixture(scope="session")
async def e2e_browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as launched:
        yield launched


@pytest.fixture
async def e2e_context(e2e_browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test."""
    made = await e2e_browser.new_context(viewport={"width": 1200, "height": 900})
    made.set_default_timeout(20_000)
    yield made
    await made.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (`test-artifacts/`, ignored by git)."""
    folder = REPO / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
