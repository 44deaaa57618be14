"""Pure rules: unsubscribe tokens, when a cart may be emailed, how messages are built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.domain.model import EmailKind, OutgoingEmail, Sender
from shoptrail.notifier.domain.recovery import SkipReason, skip_reason
from shoptrail.notifier.domain.tokens import UnsubscribeTokens

NOW = datetime(2026, 2, 23, 10, 0, tzinfo=UTC)
SENDER = Sender("Sam's Prints", "hello@samsprints.shop")


class TestUnsubscribeTokens:
    tokens = UnsubscribeTokens(b"secret-one")

    def test_a_token_names_the_normalized_address_it_was_issued_for(self) -> None:
        assert self.tokens.verify(self.tokens.issue(" Jo@Example.COM ")) == "jo@example.com"

    def test_a_token_signed_with_another_secret_is_refused(self) -> None:
        assert self.tokens.verify(UnsubscribeTokens(b"other").issue("jo@example.com")) is None

    def test_swapping_in_another_address_is_refused(self) -> None:
        _, _, signature = self.tokens.issue("jo@example.com").split(".")
        other = self.tokens.issue("sam@example.com").split(".")[1]
        assert self.tokens.verify(f"v1.{other}.{signature}") is None

    @pytest.mark.parametrize("garbled", ["", "v1", "v1..", "v2.a.b", "v1.%%%.$$$", "v1.YQ.YQ"])
    def test_garbled_tokens_are_refused(self, garbled: str) -> None:
        assert self.tokens.verify(garbled) is None

    def test_a_non_canonical_spelling_of_a_genuine_token_is_refused(self) -> None:
        version, address, signature = self.tokens.issue("jo@example.com").split(".")
        assert self.tokens.verify(f"{version}.{address}.{signature}!") is None


class TestRecoveryRules:
    def _reason(self, **changes: object) -> SkipReason | None:
        facts: dict[str, object] = {
            "recovery_enabled": True,
            "suppressed": False,
            "paid_since": False,
            "due_at": NOW,
            "now": NOW + timedelta(minutes=1),
        }
        return skip_reason(**(facts | changes))  # type: ignore[arg-type]

    def test_a_due_cart_of_a_reachable_customer_is_emailed(self) -> None:
        assert self._reason() is None

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"recovery_enabled": False}, SkipReason.RECOVERY_OFF),
            ({"suppressed": True}, SkipReason.SUPPRESSED),
            ({"paid_since": True}, SkipReason.PAID),
            ({"now": NOW + timedelta(days=2)}, SkipReason.TOO_LATE),
        ],
    )
    def test_any_reason_not_to_write_wins(self, changes: dict[str, object], reason: str) -> None:
        assert self._reason(**changes) == reason


class TestComposer:
    composer = TemplateComposer(
        template_environment(),
        tokens=UnsubscribeTokens(b"k"),
        public_base_url="https://notify.example/",
    )

    def test_order_emails_have_text_and_an_escaped_html_alternative(self) -> None:
        email = OutgoingEmail(
            id=uuid4(),
            kind=EmailKind.ORDER_CONFIRMATION,
            context={
                "order_number": "SS-1",
                "total": "£43.00",
                "customer_name": "<script>alert(1)</script>",
                "items": [{"name": "Tee", "variant": None, "quantity": 1, "price": "£38.00"}],
            },
        )
        message = self.composer.compose(email, sender=SENDER, recipient="jo@x.example", now=NOW)
        html = message.get_body(("html",))
        assert html is not None
        assert "&lt;script&gt;" in html.get_content()
        assert "<script>" not in html.get_content()
        assert message["Message-ID"] == f"<{email.id}@samsprints.shop>"
        assert "List-Unsubscribe" not in message, "transactional email is not marketing"

    def test_the_recovery_email_is_plain_text_with_one_click_unsubscribe(self) -> None:
        email = OutgoingEmail(
            id=uuid4(),
            kind=EmailKind.CART_RECOVERY,
            context={
                "total": "£38.00",
                "items": [
                    {"name": "Tee", "variant": "M", "quantity": 1, "product_url": "https://s/p/t"}
                ],
            },
        )
        message = self.composer.compose(email, sender=SENDER, recipient="jo@x.example", now=NOW)
        assert message.get_content_type() == "text/plain"
        assert "https://s/p/t" in message.get_content()
        assert message["List-Unsubscribe"].startswith("<https://notify.example/unsubscribe/v1.")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
