"""Schemathesis against the activity API (`--checks all`): 0 × 5xx, 0 schema violations."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.bootstrap import create_app
from shoptrail.testing.fuzzing import asgi_schema, fuzz_openapi

from ..conftest import TOKEN, Namespace, settings_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]


def test_every_operation_answers_as_documented(
    engine: AsyncEngine, database_url: str, namespace: Namespace
) -> None:
    # Feed and orders cursors are ours: a string we did not issue is a 400 (documented).
    # Notes the fuzzer adds go to this test's own `<ns>.activity`, deleted afterwards.
    settings = settings_for(database_url, namespace, consume=False)
    schema = asgi_schema(create_app(settings), opaque=("/api/feed", "/api/orders"))
    statuses = fuzz_openapi(schema, headers={"Authorization": f"Bearer {TOKEN}"})
    assert not any(status >= 500 for status in statuses), statuses
    assert {200, 404, 422} <= set(statuses), statuses
