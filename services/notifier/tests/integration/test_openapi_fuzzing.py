"""Schemathesis against the notifier API (`--checks all`): 0 × 5xx, 0 schema violations.

Settings and the unsubscribe page, with the notifier's own lifespan running
against a migrated database (requests are answered in schemathesis's loop).
"""

from __future__ import annotations

from typing import Any

import pytest

from shoptrail.notifier.bootstrap import create_app
from shoptrail.testing.fuzzing import asgi_schema, fuzz_openapi

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN = "test-service-token"


def test_every_operation_answers_as_documented(prepared: Any) -> None:
    # A sender is checked as a mail server would check it (the rules are in the schema's
    # descriptions, the reason in the 422); an unsubscribe token is ours to issue.
    app = create_app(prepared.settings, run_consumers=False)
    schema = asgi_schema(
        app, semantic=("/settings", "/settings/alerts"), opaque=("/unsubscribe/{token}",)
    )
    statuses = fuzz_openapi(schema, headers={"Authorization": f"Bearer {TOKEN}"})
    assert not any(status >= 500 for status in statuses), statuses
    assert {200, 422} <= set(statuses), statuses


@pytest.fixture
async def prepared(make_notifier: Any) -> Any:
    """A migrated database with the shop's sender set (the app builds its own notifier)."""
    return await make_notifier(service_token=TOKEN)
