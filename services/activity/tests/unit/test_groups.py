"""Fingerprints: the same failure groups whatever varies per occurrence; different ones don't."""

from __future__ import annotations

import pytest

from shoptrail.activity.domain.groups import fingerprint, normalise

FAILED = "order.submission_failed"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("timeout after 30s for ord_x", "timeout after 45s for ord_y"),
        ("failed for ord_demo_4983222149e6", "failed for ord_demo_0000000001ab"),
        ("order SS-261201-C600 rejected", "order SS-261202-A001 rejected"),
        ("bounced: jo@example.com", "bounced: al.b+x@shop.co.uk"),
        (
            "request 018f3e2a-1234-7abc-8def-0123456789ab",
            "request 018f3e2a-9999-7abc-8def-aaaaaaaaaaaa",
        ),
        (
            "see https://api.printify.com/v1/orders/123",
            "see https://api.printify.com/v1/orders/456",
        ),
        ("rate limited,   retry in 12 s", "rate limited, retry in 7 s"),
        ("trace 9f86d081884c7d659a2feaa0", "trace 2c26b46b68ffc68ff99b453c"),
    ],
)
def test_what_varies_per_occurrence_does_not_split_a_group(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)
    assert fingerprint(FAILED, "error", a) == fingerprint(FAILED, "error", b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Submission to Printify failed: timeout", "Submission to Printful failed: timeout"),
        ("insufficient stock for M Black", "insufficient stock for L White"),
        ("rate_limit exceeded", "rate_limit reset"),
    ],
)
def test_different_reasons_are_different_groups(a: str, b: str) -> None:
    assert fingerprint(FAILED, "error", a) != fingerprint(FAILED, "error", b)


def test_the_type_is_part_of_the_group() -> None:
    message = "API rate limit exceeded"
    assert fingerprint(FAILED, "error", message) != fingerprint("sync.failed", "error", message)


@pytest.mark.parametrize("level", ["info", "debug"])
def test_facts_are_never_grouped(level: str) -> None:
    assert fingerprint("order.created", level, "Order placed") is None


def test_warnings_are_grouped_and_keys_are_short() -> None:
    fp = fingerprint("email.bounced", "warning", "x" * 10_000)
    assert fp is not None and len(fp) == 32
    assert len(normalise("word " * 1000)) <= 200


def test_the_readable_title_keeps_the_words() -> None:
    assert normalise("Submission to Printify failed: timeout after 30s for ord_9") == (
        "Submission to Printify failed: timeout after <n>s for ord_<id>"
    )
