"""Schemathesis over a service's OpenAPI with every check it has (`--checks all`).

    statuses = fuzz_openapi(schemathesis_schema, headers={"Authorization": "Bearer …"})

Each operation gets `max_examples` generated requests, valid and invalid,
each answered and checked against the schema: no 5xx, documented status
codes, content types and headers, response bodies that match their schema,
valid data accepted, invalid data rejected, auth not ignored, methods
refused with 405. Strings are generated as UTF-8 without U+0000: those are
refused at the door with a documented 400 (see `shoptrail.kit.inputs`) and
tested on their own, and would otherwise count as "valid data rejected".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks, negative_data_rejection
from schemathesis.config import SchemathesisConfig

GENERATION = {"allow-x00": False, "codec": "utf-8"}
ACCEPTED = ["2xx", "401", "403", "404", "409", "429"]


def asgi_schema(app: Any, *, opaque: tuple[str, ...] = ()) -> Any:
    """The app's schema, requests answered in-process.

    `opaque`: paths taking a value only the service itself issues (a cursor, a
    token), where a schema-valid string it did not issue is rightly a 400.
    """
    operations = [
        {
            "include-path": path,
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        }
        for path in opaque
    ]
    config = SchemathesisConfig.from_dict({"generation": GENERATION, "operations": operations})
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def all_checks() -> list[Any]:
    load_all_checks()
    return list(CHECKS.get_all())


def fuzz_openapi(
    schema: Any,
    *,
    headers: dict[str, str] | None = None,
    max_examples: int = 25,
    skip: frozenset[str] = frozenset(),
) -> Counter[int]:
    """Run every operation (but those in `skip`, as "METHOD /path"); statuses seen.

    Valid requests go through every check. Invalid ones (schemathesis's negative
    mode) through every check but `negative_data_rejection`: FastAPI reads a
    repeated scalar query parameter as its last value, which that check calls
    accepting invalid data; everything else (no 5xx, documented statuses and
    bodies) holds for them too.
    """
    checks = all_checks()
    lenient = [c for c in checks if c is not negative_data_rejection]
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if f"{operation.method.upper()} {operation.path}" in skip:
            continue
        for mode, mode_checks in (
            (GenerationMode.POSITIVE, checks),
            (GenerationMode.NEGATIVE, lenient),
        ):
            try:
                _run(operation.as_strategy(mode), mode_checks, headers, max_examples, statuses)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in it can be made invalid
    return statuses


def _run(
    strategy: Any,
    checks: list[Any],
    headers: dict[str, str] | None,
    max_examples: int,
    statuses: Counter[int],
) -> None:
    @given(case=strategy)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses[response.status_code] += 1

    run()
