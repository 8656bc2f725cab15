"""What an email address and a header-safe line of text are, and how callers may write addresses.

Settings (MAIL_SENDER, routes) and every mail model share these rules, so an address that passes
in one place passes in all: the rules as functions, then as pydantic types. Each type also says
its rule in JSON Schema (``WithJsonSchema``, ``json_schema_input_type``), for the OpenAPI document.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, WithJsonSchema

# An addr-spec as Exchange accepts it for recipients: RFC 5322 dot-atom local part (no quoted
# strings: they are how display-name tricks like '"ceo@contoso.com" <x@evil>' get smuggled in)
# and a DNS domain with at least one dot.
_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+"
_ADDRESS_RE = re.compile(rf"{_LOCAL_PART}@({_DOMAIN})")
_DOMAIN_RE = re.compile(_DOMAIN)
MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit
# To + Cc + Bcc per message: https://learn.microsoft.com/graph/api/resources/message and
# https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits
# Each field a caller writes holds at most this many too, checked before a single address is read,
# so 100,000 of them cost a list, not 100,000 validated models (229 MiB before the 400).
MAX_RECIPIENTS = 500

# Characters that end a header line or that mail clients render as a line break: CR, LF, the
# other C0 controls but TAB, DEL, NEL and the Unicode line/paragraph separators.
_LINE_BREAKING_CHARACTERS = "\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029"
_LINE_BREAKING_RE = re.compile(f"[{_LINE_BREAKING_CHARACTERS}]")

# JSON Schema patterns are ECMA-262 regexes (JSON Schema Validation 2020-12, section 6.3.3:
# https://json-schema.org/draft/2020-12/json-schema-validation), and so are the regexes here.
# "(?![\s\S])" is the end of the text in both dialects; "$" would also match before a final
# newline in Python's re, which jsonschema uses, and so let "X-A\n" through.
_END_OF_TEXT = r"(?![\s\S])"


def whole_text_pattern(regex: re.Pattern[str]) -> str:
    """A JSON Schema ``pattern`` that matches what ``regex.fullmatch`` matches."""
    return f"^(?:{regex.pattern}){_END_OF_TEXT}"


SINGLE_LINE_PATTERN = f"^[^{_LINE_BREAKING_CHARACTERS}]*{_END_OF_TEXT}"


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
# The same trick with look-alikes: FULLWIDTH and SMALL COMMERCIAL AT, ONE DOT LEADER and the other
# dots NFKC folds to "." (Unicode TR #36, "Unicode Security Considerations", and TR #39's
# confusables), and blanks around them ("ceo @ contoso . com").
_AT_OR_DOT_IN_BLANKS_RE = re.compile(r"\s*([@.])\s*")
# Bidirectional controls reorder what is shown: "invoice\u202efdp.exe" reads "invoiceexe.pdf",
# "Support\u202e" can flip the address after it (TR #36, section 2.4; CVE-2021-42574).
_BIDI_CONTROLS_RE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check_no_bidi_controls(text: str) -> str:
    if _BIDI_CONTROLS_RE.search(text):
        raise ValueError("must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069, ...)")
    return text


def check_display_name(name: str) -> str:
    check_single_line(name)
    # ASCII text is its own NFKC form and holds no look-alikes or bidirectional controls: most names
    # are ASCII, and the per-character folding below was a tenth of a message's CPU.
    if name.isascii():
        folded = name
    else:
        check_no_bidi_controls(name)
        folded = unicodedata.normalize("NFKC", name)
        if any(unicodedata.normalize("NFKC", c) == "@" for c in name if not c.isascii()):
            raise ValueError("a display name must not contain a look-alike of '@' (U+FF20, U+FE6B)")
    if _NAME_SPOOF_RE.search(name) or _NAME_SPOOF_RE.search(_AT_OR_DOT_IN_BLANKS_RE.sub(r"\1", folded)):
        raise ValueError("a display name must not contain an email address, or what reads as one, or '<' '>'")
    return name


def check_single_line(text: str) -> str:
    """Reject text that would break a mail header line (CR/LF injection and look-alikes)."""
    if _LINE_BREAKING_RE.search(text):
        raise ValueError("must be a single line: line breaks and control characters are not allowed")
    return text


# What the validators check, said in JSON Schema so that callers (and schemathesis) see the rule
# instead of finding it by trial. A validator may check more than its schema says (a display name
# holding an address); never less. check_address trims blanks; the schema asks for none.
ADDRESS_JSON_SCHEMA = {"type": "string", "pattern": whole_text_pattern(_ADDRESS_RE), "maxLength": MAX_ADDRESS_LENGTH}
SINGLE_LINE_JSON_SCHEMA = {"type": "string", "pattern": SINGLE_LINE_PATTERN}

Address = Annotated[StrictStr, AfterValidator(check_address), WithJsonSchema(ADDRESS_JSON_SCHEMA)]
SingleLine = Annotated[StrictStr, AfterValidator(check_single_line), WithJsonSchema(SINGLE_LINE_JSON_SCHEMA)]
DisplayName = Annotated[StrictStr, AfterValidator(check_display_name), WithJsonSchema(SINGLE_LINE_JSON_SCHEMA)]


def one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


def address_object(value: Any) -> Any:
    return {"address": value} if isinstance(value, str) else value


class SimpleAddress(BaseModel):
    """An address as callers and routes write it: ``"a@contoso.com"`` or ``{"address", "name"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: Address
    name: DisplayName | None = None


# pydantic describes a before-validator by the type it produces; these accept more, and the schema
# says so with the type they take (json_schema_input_type, used for the schema only).
_AddressText = Annotated[Address, WithJsonSchema({**ADDRESS_JSON_SCHEMA, "description": "an email address"})]
# A string or an object: `"a@contoso.com"` or `{"address": "a@contoso.com", "name": "Ops"}`.
AddressItem = Annotated[
    SimpleAddress, BeforeValidator(address_object, json_schema_input_type=_AddressText | SimpleAddress)
]
# One address or a list, each a string or an object: `"to": ["a@contoso.com", {"address": ...}]`.
AddressList = Annotated[
    list[AddressItem],
    Field(max_length=MAX_RECIPIENTS),
    BeforeValidator(one_or_many, json_schema_input_type=_AddressText | SimpleAddress | list[AddressItem]),
]
