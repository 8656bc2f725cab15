"""OData annotations in a Graph request body: which ones a caller may send, and what they are.

Graph speaks OData 4.0 JSON (https://docs.oasis-open.org/odata/odata-json-format/v4.01/, section 4.5
"Control Information" and section 20 "Instance Annotations"). Names starting with ``@`` annotate the
object they sit in; ``property@term`` annotates one property. What we pass on, unchanged:

- ``@odata.type``: "MAY appear in other cases in requests if its value does not contradict the type
  declared in $metadata" (section 4.5.3). The Graph SDKs built with kiota write it on every message
  ("#microsoft.graph.message"). The models declare it as a field and check it names their own type.
- ``@odata.context``: "Request payloads MAY include a context URL as a base URL for relative URLs in
  the request payload" (section 4.5.1).
- ``property@odata.type`` and annotations in any namespace but ``odata`` (``@contoso.note``):
  "Receivers that encounter unknown annotations in any namespace ... MUST NOT stop processing and
  MUST NOT signal an error" (section 4.5), so Graph ignores those it does not know.

Refused: the other ``odata`` control information (``@odata.bind``, ``@odata.id``, ``@odata.etag``,
``@odata.editLink``, ...). They point at stored entities or links; in a message being sent they would
make Graph read or bind something the bridge never saw.
"""

from __future__ import annotations

import re

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_TERM = rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})+"
ANNOTATION_RE = re.compile(rf"(?P<property>{_IDENTIFIER})?@(?P<term>{_TERM})")
# The control information in the odata namespace we pass on: (on a property?, term).
_PASSED_CONTROL_INFORMATION = {(False, "odata.context"), (True, "odata.type")}
# The same rule in JSON Schema (ECMA-262 regexes have no (?i): the odata prefix is spelled out).
ANNOTATION_JSON_SCHEMA_PATTERN = (
    rf"^(?:@odata\.context|{_IDENTIFIER}@odata\.type"
    rf"|(?:{_IDENTIFIER})?@(?![Oo][Dd][Aa][Tt][Aa]\.){_TERM})$"
)

UNKNOWN_FIELD = "unknown field: not a property the bridge accepts"


def annotation_problem(name: str) -> str | None:
    """Why the key ``name`` (not a declared property) is refused, or None for an annotation we pass on."""
    match = ANNOTATION_RE.fullmatch(name)
    if match is None:
        return UNKNOWN_FIELD
    term = match["term"].lower()
    if term.startswith("odata.") and (match["property"] is not None, term) not in _PASSED_CONTROL_INFORMATION:
        return (
            f"OData control information '@{match['term']}' refers to stored entities or links, "
            "which a message being sent has none of; only @odata.type and @odata.context are passed on"
        )
    return None


def type_name(value: str) -> str:
    """``#microsoft.graph.message`` and ``microsoft.graph.message`` name one type (section 4.5.3)."""
    return value.removeprefix("#").lower()
