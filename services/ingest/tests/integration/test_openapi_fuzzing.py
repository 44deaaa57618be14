"""Schemathesis against the ingest OpenAPI: no generated request gets a 5xx.

The app runs with real Kafka and the Stripe stand-in; generated requests are
unsigned or wrongly signed, so this proves every refusal path answers
cleanly and as documented (plus the operational routes).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from shoptrail.ingest.bootstrap import create_app

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
async def ingest_schema(
    new_topic: Any, stripe_api: Any, kafka_bootstrap: str, settings_for: Any
) -> Any:
    app = create_app(
        settings_for(
            topic=await new_topic("ingest-fuzz"),
            stripe_api_base=stripe_api.url,
            kafka_bootstrap=kafka_bootstrap,
        )
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_generated_request_gets_a_server_error(ingest_schema: Any) -> None:
    # schemathesis.pytest.from_fixture does not run on this pytest, so each operation's
    # strategy is driven by hypothesis directly; the requests and checks are the same.
    operations = [result.ok() for result in ingest_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/webhooks/stripe", "/webhooks/email"}
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            # Every default check (documented status codes, response schemas, content types)
            # plus, explicitly, no 5xx.
            response = case.call_and_validate(additional_checks=[not_a_server_error])
            assert response.status_code < 500
            statuses.append(response.status_code)

        no_server_error()

    assert len(statuses) > 5 * len(operations)
    assert {401, 200} <= set(statuses)
