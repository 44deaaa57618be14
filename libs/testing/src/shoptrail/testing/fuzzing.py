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

import json
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks, negative_data_rejection
from schemathesis.config import SchemathesisConfig

EXPLORE = os.environ.get("SHOPTRAIL_FUZZ_EXPLORE") == "1"
"""Off (the default, and in CI): the same examples every run, so a red run is a change's
doing, not the draw's. `SHOPTRAIL_FUZZ_EXPLORE=1` draws new ones each run, to look for
what the fixed draw misses (that is how a signed `[]` reaching the Stripe SDK was found)."""

Signer = Callable[[str, bytes], dict[str, str]]
NOT_SET: Any = schemathesis.core.NOT_SET

GENERATION = {"allow-x00": False, "codec": "utf-8"}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis's default


def config_for(*, opaque: tuple[str, ...] = (), semantic: tuple[str, ...] = ()) -> Any:
    """Schemathesis's configuration: UTF-8 without U+0000, and where a schema-valid request
    can rightly be refused, that refusal, per path.

    `opaque` paths take a value only the service itself issues (a cursor, a
    token), so a string it did not issue is a 400; `semantic` paths check more
    than a JSON Schema can say (an address a mail server would take), so a
    schema-valid body can be a 422 naming the rule.
    """
    lenient = {path: ["400"] for path in opaque}
    for path in semantic:
        lenient.setdefault(path, []).append("422")
    operations = [
        {
            "include-path": path,
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, *extra]}},
        }
        for path, extra in lenient.items()
    ]
    return SchemathesisConfig.from_dict({"generation": GENERATION, "operations": operations})


def asgi_schema(app: Any, *, opaque: tuple[str, ...] = (), semantic: tuple[str, ...] = ()) -> Any:
    """The app's schema, requests answered in-process (its lifespan running); see `config_for`."""
    config = config_for(opaque=opaque, semantic=semantic)
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
    sign: Signer | None = None,
    base_url: str | None = None,
) -> Counter[int]:
    """Run every operation (but those in `skip`, as "METHOD /path"); statuses seen.

    `sign(path, body_bytes)` returns headers that make the request genuine (a
    webhook's signature over the exact bytes sent), so generated bodies get
    past the signature check to the code that reads them.

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
                _run(
                    operation.as_strategy(mode),
                    mode_checks,
                    headers,
                    max_examples,
                    statuses,
                    sign,
                    base_url,
                )
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in it can be made invalid
    return statuses


def _run(
    strategy: Any,
    checks: list[Any],
    headers: dict[str, str] | None,
    max_examples: int,
    statuses: Counter[int],
    sign: Signer | None,
    base_url: str | None,
) -> None:
    @given(case=strategy)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=not EXPLORE,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        extra = dict(headers or {})
        if sign is not None and _is_json(case):
            # Sent as requests sends `json=`: json.dumps (ASCII, no NaN), UTF-8.
            raw = b"" if case.body is NOT_SET else json.dumps(case.body, allow_nan=False).encode()
            extra |= sign(case.operation.path, raw)
        response = case.call_and_validate(headers=extra, checks=checks, base_url=base_url)
        statuses[response.status_code] += 1

    run()


def _is_json(case: Any) -> bool:
    """A body sent as JSON (a negative case may send bytes or another media type)."""
    if case.body is NOT_SET:
        return True
    if case.media_type not in (None, "application/json"):
        return False
    try:
        json.dumps(case.body, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
