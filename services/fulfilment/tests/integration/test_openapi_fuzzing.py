"""Schemathesis against the fulfilment API (`--checks all`): 0 × 5xx, 0 schema violations.

The retry actions and product syncs, with the service's lifespan running
against real PostgreSQL and Kafka and the fake provider.
"""

from __future__ import annotations

import pytest

from shoptrail.fulfilment.bootstrap import create_app
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.devtools.harness import TOKEN
from shoptrail.testing.fuzzing import asgi_schema, fuzz_openapi

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]


def test_every_operation_answers_as_documented(settings: Settings) -> None:
    schema = asgi_schema(create_app(settings))
    statuses = fuzz_openapi(schema, headers={"Authorization": f"Bearer {TOKEN}"})
    assert not any(status >= 500 for status in statuses), statuses
    assert {422} <= set(statuses), statuses
