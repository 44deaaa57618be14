"""The whole shop from the launcher: `dev.py` up, `demo.py --once`, then look.

Starts `deploy/local/dev.py --no-demo` as a process with its own Kafka,
PostgreSQL, state folder and ports (so it runs beside any other stack), sends
the demo's stories through the public doors, and checks through the activity
API and the SMTP sink that each story left its mark. Ctrl-C (SIGINT) must then
stop every process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shoptrail.testing import free_port_block, listening

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "deploy" / "local" / "dev.py"
DEMO = REPO / "deploy" / "local" / "demo.py"
STACK = REPO / "deploy" / "local" / "stack.py"
ACTIVITY_TOKEN = "dev-only-activity-token"  # DEV_SECRETS["activity_token"] in dev.py
STORIES = ("delivered", "submission_retried", "sync_failed", "bounce", "cart_abandoned")
"""Every story but the ones that wait on minute-long timers (cart recovery, exhaustion)."""

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres]


@dataclass
class RunningShop:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    urls: dict[str, str]
    log: Path
    state: Path

    def stop(self, timeout: float = 90.0) -> int:
        """Ctrl-C, as a developer would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    """`make dev` (without demo traffic) on private ports and a private state folder."""
    state = tmp_path_factory.mktemp("whole-shop")
    base = free_port_block()
    env = {
        **os.environ,
        "SHOPTRAIL_LOCAL_DIR": str(state),
        "SHOPTRAIL_PORT_BASE": str(base),
        "SHOPTRAIL_KAFKA_PORT": str(base + 97),  # and +98 for its controller
        "SHOPTRAIL_PG_PORT": str(base + 99),
    }
    planned = subprocess.run(
        [sys.executable, str(DEV), "--plan"], env=env, capture_output=True, check=True
    )
    urls = json.loads(planned.stdout)["urls"]
    log = state / "dev-output.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(DEV), "--no-demo"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
    running = RunningShop(process, env, urls, log, state)
    try:
        deadline = time.monotonic() + 180
        while "shop prepared" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dev.py did not come up:\n{running.log_tail()}")
            time.sleep(0.5)
        yield running
    finally:
        running.stop()
        # The private Kafka and PostgreSQL data (PostgreSQL's may live under /var/tmp).
        subprocess.run([sys.executable, str(STACK), "reset"], env=env, check=False)


@pytest.fixture(scope="module")
def seeded(shop: RunningShop) -> dict[str, dict[str, Any]]:
    """`demo.py --once` with the quick stories; what each one did, by story."""
    summary = shop.state / "demo-summary.json"
    stories = [arg for name in STORIES for arg in ("--story", name)]
    result = subprocess.run(
        [sys.executable, str(DEMO), "--once", *stories, "--summary", str(summary)],
        env=shop.env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, f"demo failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return {story["story"]: story for story in json.loads(summary.read_text())}


class Activity:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {ACTIVITY_TOKEN}"}, timeout=10
        )

    def timeline(self, order_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/orders/{order_id}/timeline")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries

    def feed(self, **params: Any) -> list[dict[str, Any]]:
        response = self.http.get("/api/feed", params={"limit": 200, **params})
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    def eventually_types(self, order_id: str, wanted: set[str], timeout: float = 30) -> list[str]:
        """The order's timeline event types, once all of `wanted` are in it (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            types = [entry["event_type"] for entry in self.timeline(order_id)]
            if wanted <= set(types) or time.monotonic() > deadline:
                return types
            time.sleep(0.5)


@pytest.fixture(scope="module")
def activity(shop: RunningShop) -> Activity:
    return Activity(shop.urls["activity"])


@pytest.mark.timeout(400)
class TestTheWholeShop:
    def test_a_delivered_order_tells_its_whole_story_in_order(
        self, seeded: dict[str, dict[str, Any]], activity: Activity
    ) -> None:
        order_id = seeded["delivered"]["order_id"]
        emails = {"order.email.confirmation_sent", "order.email.shipping_sent"}
        # Fulfilment's steps are one ordered chain; the notifier's emails run beside it.
        chain = ["order.created", "order.submitted", "order.production", "order.shipped"]
        chain.append("order.delivered")
        types = activity.eventually_types(order_id, {*chain, *emails})
        assert [t for t in types if t in chain] == chain
        assert emails <= set(types)
        assert types.index("order.email.shipping_sent") > types.index("order.shipped")
        messages = [entry["message"] for entry in activity.timeline(order_id)]
        assert messages[0].startswith("Order placed")
        assert any(m.startswith("Order confirmation sent") for m in messages)
        assert any(
            m.startswith(f"Submitted to {seeded['delivered']['provider']}") for m in messages
        )

    def test_a_refused_submission_is_retried_and_gets_through(
        self, seeded: dict[str, dict[str, Any]], activity: Activity
    ) -> None:
        order_id = seeded["submission_retried"]["order_id"]
        wanted = ["order.submission_failed", "order.submission_retried", "order.submitted"]
        types = activity.eventually_types(order_id, set(wanted))
        assert [t for t in types if t in wanted] == wanted

    def test_a_failed_product_sync_is_an_error_resolved_by_the_next_sync(
        self, seeded: dict[str, dict[str, Any]], activity: Activity
    ) -> None:
        provider = seeded["sync_failed"]["provider"]
        deadline = time.monotonic() + 30
        while True:
            failures = [
                e
                for e in activity.feed(category="syncs")
                if e["event_type"] == "sync.failed" and e["payload"]["provider"] == provider
            ]
            if (failures and failures[0]["resolution"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(failures) == 1
        assert failures[0]["level"] == "error"
        assert failures[0]["resolution"] == "auto"  # the story's second sync succeeded

    def test_a_bounced_confirmation_is_a_warning_on_its_order(
        self, seeded: dict[str, dict[str, Any]], activity: Activity
    ) -> None:
        order_id = seeded["bounce"]["order_id"]
        activity.eventually_types(order_id, {"email.bounced"})
        bounces = [e for e in activity.timeline(order_id) if e["event_type"] == "email.bounced"]
        assert len(bounces) == 1
        assert bounces[0]["level"] == "warning"
        assert bounces[0]["payload"]["recipient"] == seeded["bounce"]["email"]

    def test_an_expired_checkout_becomes_an_abandoned_cart(
        self, seeded: dict[str, dict[str, Any]], activity: Activity
    ) -> None:
        email = seeded["cart_abandoned"]["email"]
        deadline = time.monotonic() + 20
        carts: list[dict[str, Any]] = []
        while not carts and time.monotonic() < deadline:
            carts = [
                e
                for e in activity.feed(category="carts")
                if e["event_type"] == "abandoned_cart.created"
                and e["payload"]["customer_email"] == email
            ]
            time.sleep(0.5)
        assert len(carts) == 1

    def test_the_mail_sink_keeps_the_confirmation_and_shipping_emails(
        self, shop: RunningShop, seeded: dict[str, dict[str, Any]], activity: Activity
    ) -> None:
        delivered = seeded["delivered"]
        activity.eventually_types(delivered["order_id"], {"order.email.shipping_sent"})
        messages = httpx.get(f"{shop.urls['mail']}/api/messages", timeout=10).json()
        to_customer = {m["subject"] for m in messages if delivered["email"] in m["recipients"]}
        number = delivered["order_number"]
        assert f"Thank you for your order {number}" in to_customer
        assert f"Your order {number} is on its way" in to_customer
        assert list((shop.state / "mail").glob("*.eml"))

    def test_ctrl_c_stops_every_process(self, shop: RunningShop) -> None:
        code = shop.stop()
        assert code == 0, shop.log_tail()
        assert "[dev] stopped" in shop.log_tail()
        for name, address in shop.urls.items():
            port = int(address.rsplit(":", 1)[1])
            assert not listening(port), f"{name} still listens on {port}"
