"""Why a webhook was refused: a status code, a short reason for metrics, a message for people."""

from __future__ import annotations


class InvalidWebhookError(Exception):
    """A request that publishes nothing and is answered with a 4xx JSON error.

    `reason` is a short, stable code (a metrics label); `detail` says exactly why.
    """

    status_code = 400

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class InvalidSignatureError(InvalidWebhookError):
    """We cannot tell that the request is genuine: unsigned, forged, tampered, stale or future."""

    status_code = 401


class InvalidPayloadError(InvalidWebhookError):
    """Genuinely signed, but not something we can read (not JSON, missing fields)."""

    status_code = 400


class UpstreamUnavailableError(Exception):
    """Kafka or the Stripe API did not answer in time: the sender should retry (503)."""
