"""Signature checks for every webhook sender, as functions of (body, headers, secrets, clock).

Stripe's scheme is checked with the Stripe SDK itself; the others are plain
HMAC-SHA256 schemes of their senders (each function says where it is
documented). All comparisons are constant-time. Each check raises
`InvalidSignatureError` with a clear reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

import stripe

from shoptrail.ingest.domain.errors import InvalidSignatureError


def stripe_timestamp(header: str | None) -> int:
    """The `t=` timestamp of a `Stripe-Signature` header (raises if absent or unreadable)."""
    if not header:
        raise InvalidSignatureError("missing_signature", "the Stripe-Signature header is missing")
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    raise InvalidSignatureError(
        "malformed_signature", "the Stripe-Signature header has no readable t= timestamp"
    )


def check_freshness(timestamp: int, *, now: float, tolerance: int, skew: int) -> None:
    """Refuse timestamps older than `tolerance` or more than `skew` seconds in the future.

    The Stripe SDK only refuses old timestamps; a future one would let a
    captured request be replayed for longer than the tolerance, so it is
    refused here.
    """
    age = now - timestamp
    if age > tolerance:
        raise InvalidSignatureError(
            "stale_signature",
            f"the signature timestamp is {int(age)} s old; at most {tolerance} s is accepted",
        )
    if -age > skew:
        raise InvalidSignatureError(
            "future_signature",
            f"the signature timestamp is {int(-age)} s in the future; "
            f"at most {skew} s of clock skew is accepted",
        )


def verify_stripe(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: int = 300,
    skew: int = 30,
) -> None:
    """Verify a Stripe webhook's signature with the SDK, trying every secret.

    Several secrets are accepted so a signing secret can be rolled without
    downtime (Stripe then signs with both, and either matches). Only the
    signature is checked here (`WebhookSignature.verify_header`): reading the
    body is the parser's job, so a genuine body that is no event (`[]`, a
    string) is a 400 from the parser, never an SDK error.
    """
    timestamp = stripe_timestamp(header)
    check_freshness(timestamp, now=now, tolerance=tolerance, skew=skew)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignatureError("bad_signature", "the body is not UTF-8 text") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance=tolerance)
        except stripe.SignatureVerificationError:
            continue
        return
    raise InvalidSignatureError(
        "bad_signature", "no Stripe signature matches this body with any configured secret"
    )


def verify_printify(body: bytes, header: str | None, secret: str) -> None:
    """Printify: `X-Pfy-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

    The key is the `secret` we choose when creating the webhook (`POST
    /v1/shops/{shop_id}/webhooks.json` with `{"topic", "url", "secret"}`,
    https://developers.printify.com/#webhooks). Printify's documentation of the
    header itself could not be read here (searched: "Printify webhook signature
    X-Pfy-Signature", "developers.printify.com webhooks secret signature header");
    header name, `sha256=` prefix, hex encoding and raw-body signing are as every
    public receiver we found implements them (e.g. Rust, Python, TypeScript and C#
    receivers on GitHub), not yet as Printify's page states. No timestamp is signed:
    replays are bounded by the event's own `created_at` (`provider_event_max_age_seconds`).
    """
    if not header:
        raise InvalidSignatureError("missing_signature", "the X-Pfy-Signature header is missing")
    scheme, _, given = header.strip().partition("=")
    if scheme != "sha256" or not given:
        raise InvalidSignatureError(
            "malformed_signature", "X-Pfy-Signature must look like sha256=<hex digest>"
        )
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise InvalidSignatureError("bad_signature", "the X-Pfy-Signature does not match the body")


def printful_key(secret_key: str) -> bytes:
    """The HMAC key for Printful v2: its hex `secret_key`, decoded (a non-hex dev value as is)."""
    try:
        return bytes.fromhex(secret_key)
    except ValueError:
        return secret_key.encode()


def verify_printful(body: bytes, header: str | None, secret_key: str) -> None:
    """Printful webhook v2: `x-pf-webhook-signature` is the hex HMAC-SHA256 of the raw body.

    As Printful's API v2 documentation says (https://developers.printful.com/docs/v2-beta/,
    "Webhook v2" → "Event signing", and "Examples" → webhook "Event example"): the
    signature is HMAC-SHA256 of the event content as received (not reformatted), its
    hexadecimal representation in `x-pf-webhook-signature`; the key is the
    configuration's `secret_key`, which Printful returns hex-encoded and which must be
    decoded first. The other header, `x-pf-webhook-public-key` (base64), only names
    which configuration sent the event; with one configuration per store it is not
    checked. Printful signs no timestamp and retries for about 23 hours (after 1, 4,
    16, 64, 256 and 1024 minutes), so replays are bounded by the event's own
    `occurred_at` (`provider_event_max_age_seconds`, longer than that).
    """
    if not header:
        raise InvalidSignatureError(
            "missing_signature", "the x-pf-webhook-signature header is missing"
        )
    expected = hmac.new(printful_key(secret_key), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.strip().lower()):
        raise InvalidSignatureError(
            "bad_signature", "the x-pf-webhook-signature does not match the body"
        )


def standard_webhooks_key(secret: str) -> bytes:
    """A Standard Webhooks secret is `whsec_<base64>`; a non-base64 (dev) value is used as is."""
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def sign_standard_webhook(body: bytes, *, message_id: str, timestamp: int, secret: str) -> str:
    """The `webhook-signature` value for a body: `v1,<base64 HMAC-SHA256>`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_standard_webhook(
    body: bytes,
    *,
    message_id: str | None,
    timestamp: str | None,
    signature: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance: int = 300,
    skew: int = 30,
) -> None:
    """Verify a Standard Webhooks signature (the scheme Resend and Svix sign with).

    Headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (a
    space-separated list of `v1,<base64>`); the signed content is
    `{id}.{timestamp}.{body}`. Several secrets are accepted for rotation.
    """
    if not (message_id and timestamp and signature):
        raise InvalidSignatureError(
            "missing_signature",
            "webhook-id, webhook-timestamp and webhook-signature headers are all required",
        )
    if not timestamp.isdigit():
        raise InvalidSignatureError("malformed_signature", "webhook-timestamp must be unix seconds")
    check_freshness(int(timestamp), now=now, tolerance=tolerance, skew=skew)
    given = [part for part in signature.split() if part.startswith("v1,")]
    for secret in secrets:
        expected = sign_standard_webhook(
            body, message_id=message_id, timestamp=int(timestamp), secret=secret
        )
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return
    raise InvalidSignatureError(
        "bad_signature", "no webhook-signature matches this body with any configured secret"
    )
