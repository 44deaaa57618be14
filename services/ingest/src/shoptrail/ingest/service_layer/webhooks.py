"""One use case per sender: verify the signature, read the payload, publish its facts."""

from __future__ import annotations

from dataclasses import dataclass

from shoptrail.ingest.config import Settings
from shoptrail.ingest.domain import email, providers, signatures
from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.errors import InvalidSignatureError
from shoptrail.ingest.domain.facts import Fact, Ignored, parse_json_object, translating
from shoptrail.ingest.service_layer.handlers import Outcome, ingest, ingest_stripe_event
from shoptrail.ingest.service_layer.ports import EventSink, StripeApi


async def receive_stripe(
    body: bytes,
    signature: str | None,
    *,
    settings: Settings,
    now: float,
    stripe: StripeApi,
    sink: EventSink,
) -> Outcome:
    """`POST /webhooks/stripe`: Stripe-Signature checked against every configured secret."""
    signatures.verify_stripe(
        body,
        signature,
        [secret.get_secret_value() for secret in settings.stripe_webhook_secrets],
        now=now,
        tolerance=settings.stripe_signature_tolerance_seconds,
        skew=settings.clock_skew_seconds,
    )
    event = se.parse_event(parse_json_object(body, "Stripe"))
    return await ingest_stripe_event(event, stripe=stripe, sink=sink)


async def receive_printify(
    body: bytes, signature: str | None, *, settings: Settings, now: float, sink: EventSink
) -> Outcome:
    """`POST /webhooks/printify`: `X-Pfy-Signature: sha256=<hex>` over the raw body."""
    signatures.verify_printify(body, signature, settings.printify_webhook_secret.get_secret_value())
    payload = parse_json_object(body, "Printify")
    with translating("the Printify event"):
        fact = providers.printify_fact(payload)
    _refuse_replays(fact, "Printify", settings=settings, now=now)
    return await ingest(fact, kind=str(payload.get("type")), sink=sink)


async def receive_printful(
    body: bytes, signature: str | None, *, settings: Settings, now: float, sink: EventSink
) -> Outcome:
    """`POST /webhooks/printful`: Printful v2 `x-pf-webhook-signature` over the raw body."""
    signatures.verify_printful(
        body, signature, settings.printful_webhook_secret_key.get_secret_value()
    )
    payload = parse_json_object(body, "Printful")
    with translating("the Printful event"):
        fact = providers.printful_fact(payload)
    _refuse_replays(fact, "Printful", settings=settings, now=now)
    return await ingest(fact, kind=str(payload.get("type")), sink=sink)


def _refuse_replays(fact: Fact | Ignored, sender: str, *, settings: Settings, now: float) -> None:
    """A signature without a timestamp can be replayed for ever: bound it by the event's own
    date (beside the dedup on its id), as Stripe's signed timestamp is bounded."""
    if isinstance(fact, Ignored):
        return  # acknowledged and dropped anyway
    age = now - fact.occurred_at.timestamp()
    if age > settings.provider_event_max_age_seconds:
        raise InvalidSignatureError(
            "stale",
            f"{sender} event dated {fact.occurred_at.isoformat()} is older than "
            f"{settings.provider_event_max_age_seconds} s: refused as a replay",
        )
    if age < -settings.clock_skew_seconds:
        raise InvalidSignatureError(
            "future", f"{sender} event dated {fact.occurred_at.isoformat()} is in the future"
        )


@dataclass(frozen=True)
class StandardWebhookHeaders:
    """`webhook-id`, `webhook-timestamp`, `webhook-signature` as they arrived."""

    message_id: str | None
    timestamp: str | None
    signature: str | None


async def receive_email(
    body: bytes,
    headers: StandardWebhookHeaders,
    *,
    settings: Settings,
    now: float,
    sink: EventSink,
) -> Outcome:
    """`POST /webhooks/email`: Standard Webhooks signature, then bounces → `email.bounced`."""
    signatures.verify_standard_webhook(
        body,
        message_id=headers.message_id,
        timestamp=headers.timestamp,
        signature=headers.signature,
        secrets=[secret.get_secret_value() for secret in settings.email_webhook_secrets],
        now=now,
        tolerance=settings.email_signature_tolerance_seconds,
        skew=settings.clock_skew_seconds,
    )
    payload = parse_json_object(body, "email provider")
    with translating("the email-provider event"):
        facts = email.bounce_facts(payload, message_id=str(headers.message_id))
    return await ingest(facts, kind=str(payload.get("type")), sink=sink)
