"""Graph's extended properties (MAPI properties by id): which a caller may set on a message we send.

An id is ``"{type} {proptag}"`` (``"String 0x3FDE"``) or ``"{type} {guid} Name {name}"`` /
``"{type} {guid} Id {0x...}"`` for a named property
(https://learn.microsoft.com/graph/api/resources/extended-properties-overview, "id formats").

Two kinds could carry what the rest of the bridge checks past its checks, so they are judged here:

- Named properties in PS_INTERNET_HEADERS, ``{00020386-0000-0000-C000-000000000046}``: each one is an
  internet header of the sent message, named by the property name
  (https://learn.microsoft.com/office/client-developer/outlook/mapi/ps-internet-headers). They obey
  the rules of ``internetMessageHeaders``: an ``x-`` name, a one-line value, no reserved prefix.
- Tagged properties (``0x0001``-``0x7FFF``) in the ranges MAPI gives to a message's envelope,
  recipients, content and transport: 0x0001-0x2FFF and 0x4000-0x5FFF
  (https://learn.microsoft.com/office/client-developer/outlook/mapi/property-identifier-ranges). They hold
  the sender (PidTagSenderEmailAddress 0x0C1F, PidTagSentRepresentingEmailAddress 0x0065), the
  transport headers (PidTagTransportMessageHeaders 0x007D), the body (PidTagBody 0x1000, PidTagHtml
  0x1013): set by id they would pass around the sender allow-list, the header rules and the HTML
  sanitizer. Refused, but for PidTagSensitivity (0x0036), which Graph v1.0 does not expose otherwise.
  Ids 0x8000 and up are named properties: they are addressed by GUID and name, not by number.
Every other id is passed on unchanged.
"""

from __future__ import annotations

import re

PS_INTERNET_HEADERS = "00020386-0000-0000-c000-000000000046"
# PidTagSensitivity: normal, personal, private, confidential
# (https://learn.microsoft.com/office/client-developer/outlook/mapi/pidtagsensitivity-canonical-property).
_ALLOWED_TAGS_IN_REFUSED_RANGES = {0x0036}
_REFUSED_TAG_RANGES = ((0x0001, 0x2FFF), (0x4000, 0x5FFF), (0x8000, 0xFFFF))

_TYPES = "binary|boolean|clsid|currency|double|float|integer|long|object|short|string|systemtime"
_ID_RE = re.compile(
    rf"(?P<type>{_TYPES})(?P<array>array)? +(?:0x(?P<tag>[0-9a-f]{{1,4}})"
    r"|\{(?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\} +"
    r"(?:name +(?P<name>\S.*)|id +0x(?P<number>[0-9a-f]{1,8})))",
    re.IGNORECASE,
)


def internet_header_name(property_id: str) -> str | None:
    """The header a PS_INTERNET_HEADERS named property sets (``"String {00020386-…} Name X-A"`` → X-A)."""
    match = _ID_RE.fullmatch(property_id.strip())
    if match is None or (match["guid"] or "").lower() != PS_INTERNET_HEADERS:
        return None
    return match["name"]


def check_property_id(property_id: str, multi_valued: bool) -> str:
    """Raise ValueError saying why the id is refused; return it unchanged when it may be set."""
    match = _ID_RE.fullmatch(property_id.strip())
    if match is None:
        raise ValueError(
            "is not an extended property id: '{type} 0x{tag}' or '{type} {{guid}} Name {name}' / '… Id 0x{id}'"
        )
    if bool(match["array"]) != multi_valued:
        expected = "an …Array type (StringArray, IntegerArray, …)" if multi_valued else "a single-value type"
        raise ValueError(f"needs {expected} here")
    if match["tag"] is not None:
        tag = int(match["tag"], 16)
        if tag not in _ALLOWED_TAGS_IN_REFUSED_RANGES and any(low <= tag <= high for low, high in _REFUSED_TAG_RANGES):
            raise ValueError(
                f"MAPI property 0x{tag:04X} holds the envelope, recipients, body or transport of the message "
                "(or, from 0x8000, a named property by number): set the Graph property instead"
            )
    elif (match["guid"] or "").lower() == PS_INTERNET_HEADERS and (
        multi_valued or match["type"].lower() != "string" or match["name"] is None
    ):
        raise ValueError("an internet header (PS_INTERNET_HEADERS) is a single String named by its header name")
    return property_id
