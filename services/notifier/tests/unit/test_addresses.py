"""The sender name and address are checked as a mail server without SMTPUTF8 would check them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoptrail.notifier.domain.addresses import (
    InvalidSettingError,
    display_name,
    envelope_address,
    smtp_address,
)


class TestSenderAddress:
    @pytest.mark.parametrize(
        ("given_address", "stored"),
        [
            ("hello@samsprints.shop", "hello@samsprints.shop"),
            ("  hello@samsprints.shop ", "hello@samsprints.shop"),
            ("shop@exämple.com", "shop@xn--exmple-cua.com"),
            ("shop@EXÄMPLE.com", "shop@xn--exmple-cua.com"),
            ("Sam.O'Brien+news@Example.COM", "Sam.O'Brien+news@example.com"),
            ("shop@xn--exmple-cua.com", "shop@xn--exmple-cua.com"),
            ("orders@bücher.example", "orders@xn--bcher-kva.example"),
        ],
    )
    def test_a_valid_address_is_kept_with_its_domain_in_idna_form(
        self, given_address: str, stored: str
    ) -> None:
        assert smtp_address(given_address) == stored

    def test_a_non_ascii_local_part_is_refused_saying_why(self) -> None:
        with pytest.raises(InvalidSettingError) as refused:
            smtp_address("shöp@example.com")
        message = str(refused.value)
        assert message.startswith("Sender address:")
        assert "'ö'" in message and "not ASCII" in message and "SMTPUTF8" in message

    @pytest.mark.parametrize(
        ("bad", "says"),
        [
            ("hello@shop.example\r\nBcc: all@example.com", "control character (U+000D"),
            ("hello@shop.example\n", "a line break"),
            ("hel\x00lo@shop.example", "a NUL"),
            ("hello\u2028@shop.example", "control character"),
            ("hello\ud800@shop.example", "not a valid character"),
            ("hello.shop.example", "there is no @"),
            ("a@b@shop.example", "exactly one @"),
            ("@shop.example", "nothing before the @"),
            ("hello@", "nothing after the @"),
            ("hel lo@shop.example", "must not contain spaces"),
            ('"hello"@shop.example', "'\"' is not allowed before the @"),
            (".hello@shop.example", "two dots in a row"),
            ("he..llo@shop.example", "two dots in a row"),
            ("a" * 65 + "@shop.example", "at most 64"),
            ("hello@localhost", "has no dot"),
            ("hello@shop_example.com", "not a valid domain name"),
            ("hello@-shop.example", "not a valid domain name"),
            ("hello@shop..example", "not a valid domain name"),
            ("hello@shop.example.", "must not end with a dot"),
            ("hello@[192.0.2.1]", "not an IP address"),
            ("hello@192.0.2.1", "not an IP address"),
            ("hello@" + "a" * 64 + ".example", "not a valid domain name"),
            ("a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".example", "at most 254"),
            ("x" * 5000, "longer than 254"),
        ],
    )
    def test_what_a_server_would_refuse_is_refused_with_what_is_wrong(
        self, bad: str, says: str
    ) -> None:
        with pytest.raises(InvalidSettingError, match=r"^Sender address: ") as refused:
            smtp_address(bad)
        assert says in str(refused.value)

    @settings(max_examples=400, deadline=None)
    @given(st.text(max_size=80) | st.emails() | st.emails().map(lambda e: e.replace("@", "@ä")))
    def test_any_text_is_either_a_clean_ascii_address_or_a_clear_refusal(self, value: str) -> None:
        refusal: InvalidSettingError | None = None
        try:
            address = smtp_address(value)
        except InvalidSettingError as refused:
            refusal = refused
        if refusal is not None:
            assert str(refusal).startswith("Sender address: ")
            return
        assert address.isascii() and address.isprintable()
        assert address.count("@") == 1 and len(address) <= 254
        assert smtp_address(address) == address, "a stored address passes its own check"


class TestSenderName:
    def test_any_script_is_fine_and_trimmed(self) -> None:
        assert display_name("  Ännchen's Drucke 印刷 ") == "Ännchen's Drucke 印刷"

    @pytest.mark.parametrize(
        ("bad", "says"),
        [
            ("Shop\r\nBcc: all@example.com", "control character"),
            ("Shop\tPrints", "a tab"),
            ("Shop\u202eevil", "control character"),
            ("   ", "must not be empty"),
            ("S" * 101, "at most 100 characters (this one has 101)"),
        ],
    )
    def test_control_characters_and_silly_lengths_are_refused(self, bad: str, says: str) -> None:
        with pytest.raises(InvalidSettingError, match=r"^Sender name: ") as refused:
            display_name(bad)
        assert says in str(refused.value)


def test_a_customers_international_domain_is_sent_to_in_idna_form() -> None:
    assert envelope_address("jo@exämple.com") == "jo@xn--exmple-cua.com"
    assert envelope_address("jö@example.com") == "jö@example.com", "the mailbox is theirs"
    assert envelope_address("jo@example.com") == "jo@example.com"
