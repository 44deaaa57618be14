"""Addresses and names an SMTP server accepts, checked where settings come in (pure).

SMTPUTF8 (internationalised mailboxes) is not assumed: many mail servers do not
offer it, and a sender they refuse stops every email. So a local part (before
the @) must be ASCII; an internationalised domain is converted to its IDNA
(punycode) form, which every server accepts. Control characters are refused
everywhere, since in a header they could end it and start another.
"""

from __future__ import annotations

import string
import unicodedata

import idna

MAX_ADDRESS = 254
"""Characters in a whole address (RFC 5321's path limit, less the angle brackets)."""

MAX_LOCAL_PART = 64
MAX_DISPLAY_NAME = 100

_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_SPOKEN = {"\r": "a carriage return", "\n": "a line break", "\t": "a tab", "\x00": "a NUL"}


class InvalidSettingError(ValueError):
    """A setting the mail server would refuse; the message says what is wrong and where."""


def _name_of(char: str) -> str:
    spoken = _SPOKEN.get(char) or unicodedata.name(char, "").lower()
    return f"U+{ord(char):04X}" + (f", {spoken}" if spoken else "")


def refuse_control_characters(label: str, value: str) -> None:
    """Raise unless `value` is free of control characters, line separators and lone surrogates."""
    for position, char in enumerate(value, start=1):
        category = unicodedata.category(char)
        if category == "Cs":
            raise InvalidSettingError(
                f"{label}: character {position} ({_name_of(char)}) is not a valid character"
            )
        if category in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS:
            raise InvalidSettingError(
                f"{label}: character {position} is a control character ({_name_of(char)}); "
                "line breaks, tabs and other control characters are not allowed"
            )


def display_name(value: str, *, label: str = "Sender name") -> str:
    """A display name for the From header: any script, no control characters, sane length."""
    refuse_control_characters(label, value)
    name = value.strip()
    if not name:
        raise InvalidSettingError(f"{label}: must not be empty")
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidSettingError(
            f"{label}: at most {MAX_DISPLAY_NAME} characters (this one has {len(name)})"
        )
    return name


def _check_local_part(label: str, local: str) -> None:
    if not local.isascii():
        char = next(c for c in local if not c.isascii())
        raise InvalidSettingError(
            f"{label}: the part before the @ contains '{char}', which is not ASCII. "
            "Mail servers without SMTPUTF8 refuse such addresses (and every email from them), "
            "so use only ASCII letters, digits and . _ - + before the @"
        )
    if any(c.isspace() for c in local):
        raise InvalidSettingError(f"{label}: must not contain spaces")
    bad = next((c for c in local if c not in _ATEXT and c != "."), None)
    if bad is not None:
        raise InvalidSettingError(
            f"{label}: '{bad}' is not allowed before the @ (use letters, digits and . _ - +)"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidSettingError(
            f"{label}: the part before the @ must not start or end with a dot, "
            "or have two dots in a row"
        )
    if len(local) > MAX_LOCAL_PART:
        raise InvalidSettingError(
            f"{label}: the part before the @ has {len(local)} characters; "
            f"at most {MAX_LOCAL_PART} are allowed"
        )


def _ascii_domain(label: str, domain: str) -> str:
    if domain.startswith("["):
        raise InvalidSettingError(f"{label}: use a domain name after the @, not an IP address")
    if domain.endswith("."):
        raise InvalidSettingError(f"{label}: the domain must not end with a dot")
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
    except UnicodeError as error:  # idna.IDNAError and its kin
        raise InvalidSettingError(
            f"{label}: '{domain}' is not a valid domain name ({error})"
        ) from None
    if "." not in ascii_domain:
        raise InvalidSettingError(
            f"{label}: the domain '{domain}' has no dot; use a full domain such as example.com"
        )
    if ascii_domain.rpartition(".")[2].isdigit():
        raise InvalidSettingError(f"{label}: use a domain name after the @, not an IP address")
    return ascii_domain


def smtp_address(value: str, *, label: str = "Sender address") -> str:
    """`value` in the form any SMTP server accepts (ASCII local part, IDNA domain), or raise.

    `shop@exämple.com` becomes `shop@xn--exmple-cua.com`; `shöp@example.com`
    is refused with a message that says why.
    """
    refuse_control_characters(label, value)
    address = value.strip()
    if len(address) > 4 * MAX_ADDRESS:  # an IDNA domain shrinks a little, never this much
        raise InvalidSettingError(f"{label}: longer than {MAX_ADDRESS} characters")
    local, at, domain = address.rpartition("@")
    if not at:
        raise InvalidSettingError(f"{label}: must look like name@example.com (there is no @)")
    if "@" in local:
        raise InvalidSettingError(f"{label}: must contain exactly one @")
    if not local:
        raise InvalidSettingError(f"{label}: there is nothing before the @")
    if not domain:
        raise InvalidSettingError(f"{label}: there is nothing after the @")
    _check_local_part(label, local)
    converted = f"{local}@{_ascii_domain(label, domain)}"
    if len(converted) > MAX_ADDRESS:
        raise InvalidSettingError(
            f"{label}: {len(converted)} characters once the domain is converted; "
            f"at most {MAX_ADDRESS} are allowed"
        )
    return converted


def envelope_address(address: str) -> str:
    """A recipient's address with its domain in IDNA form where possible (else unchanged).

    Customers' addresses are not refused here (they came with a paid order);
    only what can be converted without changing the mailbox is.
    """
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except UnicodeError:
        return address
