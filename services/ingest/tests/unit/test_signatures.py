"""Each sender's signature scheme: the genuine request passes, anything else is refused."""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import partial

import pytest
import stripe

from shoptrail.ingest.domain.errors import InvalidSignatureError
from shoptrail.ingest.domain.signatures import (
    check_freshness,
    sign_standard_webhook,
    verify_printful,
    verify_printify,
    verify_standard_webhook,
    verify_stripe,
)

BODY = b'{"id":"evt_1","type":"charge.refunded"}'
NOW = 1_767_225_600


def stripe_header(body: bytes, secret: str, at: int) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=at
    )
    return header


class TestStripe:
    def test_any_of_the_rotated_secrets_verifies(self) -> None:
        now = int(time.time())
        for secret in ("whsec_old", "whsec_new"):
            verify_stripe(
                BODY, stripe_header(BODY, secret, now), ["whsec_new", "whsec_old"], now=now
            )

    def test_a_header_signed_with_both_secrets_during_a_roll_verifies(self) -> None:
        now = int(time.time())
        both = (
            stripe_header(BODY, "whsec_old", now)
            + ","
            + stripe_header(BODY, "whsec_new", now).split(",")[1]
        )
        verify_stripe(BODY, both, ["whsec_new"], now=now)

    def test_a_signature_by_another_secret_is_refused(self) -> None:
        now = int(time.time())
        with pytest.raises(InvalidSignatureError) as refused:
            verify_stripe(BODY, stripe_header(BODY, "whsec_other", now), ["whsec_new"], now=now)
        assert refused.value.reason == "bad_signature"

    def test_a_non_utf8_body_is_refused_not_crashed_on(self) -> None:
        now = int(time.time())
        with pytest.raises(InvalidSignatureError):
            verify_stripe(b"\xff\xfe", f"t={now},v1=00", ["whsec_new"], now=now)


class TestFreshness:
    def test_within_tolerance_and_skew_passes(self) -> None:
        check_freshness(NOW - 299, now=NOW, tolerance=300, skew=30)
        check_freshness(NOW + 30, now=NOW, tolerance=300, skew=30)

    @pytest.mark.parametrize(
        ("timestamp", "reason"),
        [(NOW - 301, "stale_signature"), (NOW + 31, "future_signature")],
    )
    def test_outside_is_refused(self, timestamp: int, reason: str) -> None:
        with pytest.raises(InvalidSignatureError) as refused:
            check_freshness(timestamp, now=NOW, tolerance=300, skew=30)
        assert refused.value.reason == reason


class TestPrintify:
    def test_hmac_of_the_raw_body_verifies(self) -> None:
        digest = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
        verify_printify(BODY, f"sha256={digest}", "s3cret")

    @pytest.mark.parametrize("header", [None, "", "md5=abc", "sha256=" + "0" * 64])
    def test_missing_malformed_or_forged_is_refused(self, header: str | None) -> None:
        with pytest.raises(InvalidSignatureError):
            verify_printify(BODY, header, "s3cret")


class TestPrintful:
    KEY = "0123456789abcdef" * 4

    def test_hmac_keyed_with_the_hex_decoded_secret_verifies(self) -> None:
        digest = hmac.new(bytes.fromhex(self.KEY), BODY, hashlib.sha256).hexdigest()
        verify_printful(BODY, digest, self.KEY)

    def test_hmac_keyed_with_the_hex_text_itself_is_refused(self) -> None:
        digest = hmac.new(self.KEY.encode(), BODY, hashlib.sha256).hexdigest()
        with pytest.raises(InvalidSignatureError):
            verify_printful(BODY, digest, self.KEY)


class TestStandardWebhooks:
    SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    def test_known_vector_from_the_standard_webhooks_spec(self) -> None:
        body = b'{"test": 2432232314}'
        signature = sign_standard_webhook(
            body,
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            secret=self.SECRET,
        )
        assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    def test_signed_now_verifies_and_tampered_is_refused(self) -> None:
        now = int(time.time())
        sig = sign_standard_webhook(BODY, message_id="msg_1", timestamp=now, secret=self.SECRET)
        check = partial(
            verify_standard_webhook,
            message_id="msg_1",
            timestamp=str(now),
            signature=f"v1,bogus {sig}",
            secrets=[self.SECRET],
            now=now,
        )
        check(BODY)
        with pytest.raises(InvalidSignatureError):
            check(BODY + b" ")
