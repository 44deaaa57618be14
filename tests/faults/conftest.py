"""The fault suite's shop: `make dev --no-demo` from the launcher, with faults it can inject.

One shop serves the whole module (the tests run in file order and each
leaves it healthy); each test uses its own orders and counts only those.
The figures each test measured are printed at the end of the run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for folder in (REPO, REPO / "deploy" / "local"):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

from tests.e2e.launcher import LaunchedShop, launch  # noqa: E402
from tests.faults.probes import POISON_ORDER, Figures, Looker, Sender  # noqa: E402

FAULT_SETTINGS = {
    # The fulfilment consumer fails on purpose for this order's events (dev only).
    "fulfilment": {"FULFILMENT_REHEARSE_FAILURES_FOR": POISON_ORDER},
    # A consumer SIGKILLed loses its partitions to its successor sooner.
    "activity": {"ACTIVITY_SESSION_TIMEOUT_MS": "6000"},
}


@pytest.fixture(scope="module")
async def shop(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LaunchedShop]:
    """The whole shop on private ports, Kafka, PostgreSQL and state."""
    async with launch(tmp_path_factory.mktemp("fault-shop"), settings=FAULT_SETTINGS) as launched:
        yield launched


@pytest.fixture
async def sender(shop: LaunchedShop) -> AsyncIterator[Sender]:
    """Sends the shop's webhooks as Stripe and the providers would (probes.Sender)."""
    made = Sender(shop)
    yield made
    await made.aclose()


@pytest.fixture
async def looker(shop: LaunchedShop) -> AsyncIterator[Looker]:
    """Reads what the shop stored and sent, to count missing and doubled (probes.Looker)."""
    made = Looker(shop)
    yield made
    await made.aclose()


_FIGURES: list[Figures] = []
PARTS = REPO / "test-artifacts" / "faults-parts"
"""One file per pytest process that ran fault tests. Under `make test` (pytest-xdist)
they run in a worker; the root conftest.py prints them all at the end of the run."""


@pytest.fixture
def figures() -> list[Figures]:
    """Where a test records what it measured (printed at the end, kept in test-artifacts/)."""
    return _FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _FIGURES:
        PARTS.mkdir(parents=True, exist_ok=True)
        worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
        figures = [{**f.as_dict(), "line": f.line()} for f in _FIGURES]
        (PARTS / f"{worker}.json").write_text(json.dumps(figures))
