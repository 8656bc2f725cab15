"""A route's ``mapping``: how /api/hooks/generic turns any JSON payload into a notification.

Each mapped value is either a **field path** or a **Jinja2 template**:

- A field path names one value of the payload: keys separated by dots, a whole number picks a
  list item (``monitor.name``, ``alerts.0.labels.severity``). A key with a dot, a space or a brace
  in it cannot be named by a path; a template reaches it (``{{ payload["a.b"] }}``).
- A value holding ``{{`` or ``{%`` is a template, rendered in Jinja2's sandbox
  (jinja2.sandbox.SandboxedEnvironment: no attribute starting with ``_``, no unsafe callables,
  https://jinja.palletsprojects.com/en/stable/sandbox/) with the payload's top-level fields as
  variables and the whole payload as ``payload``. Its text, trimmed, is the value.

Templates are parsed when the routes are first read (``route_table.py``: the first webhook or
/api/health), so a syntax error is a problem of the route that holds it (503 ``route_invalid`` for
that route only, named in /api/health), never a failed alert.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

MAX_SPEC_CHARS = 4000
_TEMPLATE_MARKERS = ("{{", "{%")
_PATH_SEGMENT_RE = re.compile(r"[^.\s{}]+")

StatusName = Literal["firing", "resolved", "info"]
SeverityName = Literal["critical", "error", "warning", "info", "unknown"]
MappedField = Literal["summary", "severity", "status", "link", "dedupKey"]


def is_template(spec: str) -> bool:
    return any(marker in spec for marker in _TEMPLATE_MARKERS)


def path_segments(spec: str) -> list[str]:
    """A field path's keys; ValueError when the text is no path."""
    segments = spec.split(".")
    if not all(_PATH_SEGMENT_RE.fullmatch(segment) for segment in segments):
        raise ValueError(
            f"'{spec[:80]}' is neither a field path (keys separated by dots, like monitor.name) nor a template"
        )
    return segments


def _check_spec(spec: str) -> str:
    if is_template(spec):
        # Parsed, not compiled: enough to find every syntax error, and jinja2 is imported only
        # for routes that use templates (it is not otherwise imported until the first webhook).
        from jinja2 import TemplateSyntaxError
        from jinja2.sandbox import SandboxedEnvironment

        try:
            SandboxedEnvironment().parse(spec)
        except TemplateSyntaxError as exc:
            raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    else:
        path_segments(spec)
    return spec


ValueSpec = Annotated[StrictStr, Field(min_length=1, max_length=MAX_SPEC_CHARS), AfterValidator(_check_spec)]


class Mapping(BaseModel):
    """What each part of the mail is taken from; only ``title`` is required."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True)

    title: ValueSpec
    summary: ValueSpec | None = None
    severity: ValueSpec | None = None
    status: ValueSpec | None = None
    link: ValueSpec | None = None
    dedup_key: ValueSpec | None = Field(None, alias="dedupKey")
    # Whether to mail this payload at all: empty, "false", "0" or "no" skips it (202 ignored), so a
    # sender that posts every phase of a job (Jenkins: STARTED, COMPLETED) mails only the one wanted.
    when: ValueSpec | None = None
    # Label → value, shown as the mail's table, in this order.
    facts: dict[Annotated[StrictStr, Field(min_length=1, max_length=60)], ValueSpec] = Field(
        default_factory=dict, max_length=30
    )
    # The sender's words for a status or a severity ("0": "firing", "1": "resolved"), case-insensitive;
    # words not listed are read as the built-in ones (firing, down, ok, up, critical, warn, P1 ...).
    status_values: dict[StrictStr, StatusName] = Field(default_factory=dict, alias="statusValues")
    severity_values: dict[StrictStr, SeverityName] = Field(default_factory=dict, alias="severityValues")
    # Mapped values a payload must have (title always): without one, the payload is refused 400.
    required: list[MappedField] = []

    @model_validator(mode="after")
    def _required_fields_are_mapped(self) -> Mapping:
        unmapped = [name for name in self.required if self.spec(name) is None]
        if unmapped:
            raise ValueError(f"required lists {', '.join(unmapped)}, which the mapping does not map")
        return self

    def spec(self, name: str) -> str | None:
        """The path or template mapped to ``name`` ("title", "summary", ..., "dedupKey"), None when unmapped."""
        return {
            "title": self.title,
            "summary": self.summary,
            "severity": self.severity,
            "status": self.status,
            "link": self.link,
            "dedupKey": self.dedup_key,
            "when": self.when,
        }.get(name)
