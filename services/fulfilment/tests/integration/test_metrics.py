"""The running service's /metrics: its consumer's lag and progress, its outbox, its calls."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shoptrail.events.ingest import OrderCreated
from shoptrail.fulfilment.devtools.harness import Shop

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

DEADLINE = 90.0  # lag is sampled every 15 s; generous for a shared, loaded machine


async def scrape(shop: Shop) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await shop.api.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    """The sum of `name` over the series carrying `labels` (None: no such series)."""
    wanted = set(labels.items())
    values = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    return sum(values) if values else None


@pytest.mark.timeout(180)
async def test_metrics_follow_the_consumer_and_the_outbox(shop: Shop) -> None:
    group, topic = shop.settings.consumer_group, shop.settings.ingest_topic
    for n in range(3):
        order = OrderCreated.example().model_copy(update={"order_id": f"ord_metrics_{n}"})
        await shop.publish(order)

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}

    def caught_up() -> bool:
        return (
            (total(samples, "shoptrail_processed_total", component=f"consumer:{group}") or 0) >= 3
            and total(samples, "shoptrail_consumer_committed_offset", group=group, topic=topic) == 3
            and total(samples, "shoptrail_consumer_lag", group=group, topic=topic) == 0
        )

    try:
        async with asyncio.timeout(DEADLINE):
            while not caught_up():
                await asyncio.sleep(0.2)
                samples = await scrape(shop)
    except TimeoutError:
        pytest.fail(f"/metrics never showed the group caught up: {sorted(samples)[:40]}")

    assert total(samples, "shoptrail_outbox_rows", outbox="fulfilment_outbox") is not None
    assert total(samples, "shoptrail_dead_lettered_total", component=f"consumer:{group}") == 0
    requests = total(samples, "shoptrail_http_requests_total", route="/metrics", status="2xx")
    assert requests is not None and requests >= 1
