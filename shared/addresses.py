"""What an email address and a header-safe line of text are, and how callers may write addresses.

Settings (MAIL_SENDER, routes) and every mail model share these rules, so an address that passes
in one place passes in all: the rules as functions, then as pydantic types.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StrictStr

# An addr-spec as Exchange accepts it for recipients: RFC 5322 dot-atom local part (no quoted
# strings: they are how display-name tricks like '"ceo@contoso.com" <x@evil>' get smuggled in)
# and a DNS domain with at least one dot.
_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+"
_ADDRESS_RE = re.compile(rf"{_LOCAL_PART}@({_DOMAIN})")
_DOMAIN_RE = re.compile(_DOMAIN)
MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit

# Characters that end a header line or that mail clients render as a line break: CR, LF, the
# other C0 controls but TAB, DEL, NEL and the Unicode line/paragraph separators.
_LINE_BREAKING_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def check_address(address: str) -> str:
    """Return the address stripped of surrounding blanks, or raise ValueError saying why."""
    candidate = address.strip()
    if not candidate:
        raise ValueError("an email address is required")
    if len(candidate) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"an email address may have at most {MAX_ADDRESS_LENGTH} characters")
    if not _ADDRESS_RE.fullmatch(candidate):
        raise ValueError(f"'{candidate[:80]}' is not a valid email address (expected name@domain)")
    return candidate


def address_domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def is_domain(text: str) -> bool:
    return _DOMAIN_RE.fullmatch(text) is not None


# A display name that holds an address ('"ceo@contoso.com" <attacker@evil.example>') shows the
# reader an address the mail does not come from.
_NAME_SPOOF_RE = re.compile(r"[<>]|[^\s@]+@[^\s@]+\.[^\s@]+")


def check_display_name(name: str) -> str:
    check_single_line(name)
    if _NAME_SPOOF_RE.search(name):
        raise ValueError("a display name must not contain an email address or '<' '>'")
    return name


def check_single_line(text: str) -> str:
    """Reject text that would break a mail header line (CR/LF injection and look-alikes)."""
    if _LINE_BREAKING_RE.search(text):
        raise ValueError("must be a single line: line breaks and control characters are not allowed")
    return text


Address = Annotated[StrictStr, AfterValidator(check_address)]
SingleLine = Annotated[StrictStr, AfterValidator(check_single_line)]
DisplayName = Annotated[StrictStr, AfterValidator(check_display_name)]


def one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


def address_object(value: Any) -> Any:
    return {"address": value} if isinstance(value, str) else value


class SimpleAddress(BaseModel):
    """An address as callers and routes write it: ``"a@contoso.com"`` or ``{"address", "name"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: Address
    name: DisplayName | None = None


# One address or a list, each a string or an object: `"to": ["a@contoso.com", {"address": ...}]`.
AddressList = Annotated[list[Annotated[SimpleAddress, BeforeValidator(address_object)]], BeforeValidator(one_or_many)]
