"""Fulfilment fixtures: the fake provider, a migrated database, the running service.

They build on the root conftest's `database_url`, `kafka_bootstrap`, `new_topic`
and `read_topic`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shoptrail.fulfilment.adapters.migrations.run import migrate
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.devtools.fake_provider import FakeProvider, serve_fake_provider
from shoptrail.fulfilment.devtools.harness import (
    Shop,
    TopicReader,
    running_shop,
    settings_for_test,
)


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
async def provider_url(fake: FakeProvider) -> AsyncIterator[str]:
    async with serve_fake_provider(fake) as url:
        yield url


@pytest.fixture
async def settings(
    database_url: str, kafka_bootstrap: str, new_topic: Any, provider_url: str
) -> Settings:
    settings = settings_for_test(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        ingest=await new_topic("ingest"),
        fulfilment=await new_topic("fulfilment"),
        provider_url=provider_url,
    )
    await migrate(settings.database_url, settings.psycopg_conninfo)
    return settings


@pytest.fixture
async def shop(
    settings: Settings, fake: FakeProvider, read_topic: TopicReader
) -> AsyncIterator[Shop]:
    async with running_shop(settings, fake, read_topic) as running:
        yield running
