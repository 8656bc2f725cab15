"""Any JSON webhook → Notification, as the route's ``mapping`` says (shared/settings/mapping.py).

For senders that have no source of their own (Datadog, Uptime Kuma, Jenkins, a home-made
script): the route names, by field path or sandboxed Jinja2 template, where the payload holds the
title (required), summary, severity, status, link, dedup key and the facts for the table.

- status: the mapped text looked up in the mapping's ``statusValues`` (case-insensitive), else
  read as a common word: firing, alert, triggered, down, problem, failed ... → FIRING; resolved,
  ok, up, recovered, success ... → RESOLVED. Another word is INFO, shown as a "Status" fact.
  Unmapped: INFO (nothing says that a problem is happening).
- severity: ``severityValues``, else Severity.parse (critical, error, warning, P1, sev2 ...).
- dedup key: the mapped value; unmapped, the digest of the body, kept only for
  MAIL_REPEATING_DEDUP_TTL_S, since a sender may send the same body again on purpose later.

A route without ``mapping`` cannot read a payload: 404 ``route_without_mapping``, as for a route
that does not exist; a route whose mapping is wrong is a misconfigured route (503
``route_invalid``). A payload without the title, or without a value the mapping lists as
``required``, is refused 400 naming the mapped field. Callers prove themselves with
HOOK_BEARER_TOKEN (when set), on top of the function key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import TYPE_CHECKING, Any

from shared.problems import FieldError, Problem
from shared.settings.mapping import is_template, path_segments
from shared.sources.auth import BearerTokenSource
from shared.sources.base import HookRequest, InvalidHookPayload, Skip
from shared.sources.notification import Link, Notification, Severity, Status
from shared.sources.readers import text_of

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from shared.settings.mapping import Mapping, SeverityName, StatusName
    from shared.sources.base import SourceSettings

MAX_TITLE_CHARS = 300
MAX_TEXT_CHARS = 3000
MAX_FACT_CHARS = 500
# Templates compiled once per process; a route table holds a few dozen at most.
_COMPILED_TEMPLATES = 256

_STATUS_WORDS = {
    **dict.fromkeys(
        ["firing", "fire", "fired", "alert", "alerting", "triggered", "trigger", "problem", "down", "fail",
         "failed", "failure", "error", "critical", "warning", "warn", "open", "active", "unhealthy", "broken",
         "re-triggered", "retriggered"],
        Status.FIRING,
    ),
    **dict.fromkeys(
        ["resolved", "resolve", "ok", "up", "recovered", "recovery", "success", "succeeded", "successful",
         "fixed", "closed", "healthy", "normal", "passed", "back to normal"],
        Status.RESOLVED,
    ),
}  # fmt: skip


_FALSE_WORDS = frozenset(["", "false", "0", "no", "off", "none"])


class RouteHasNoMapping(Problem):
    # Like a route that does not exist: this route reads no generic payload until a mapping is
    # added. A bad mapping, by contrast, is a route problem (503 route_invalid, from the settings).
    status = 404
    code = "route_without_mapping"
    title = "The route has no mapping for generic payloads"


def build(settings: SourceSettings) -> BearerTokenSource:
    """/api/hooks/generic: the bearer token when set, like every sender that can send one."""
    return BearerTokenSource("generic", to_notification, settings.hook_auth.bearer_token)


def to_notification(request: HookRequest) -> Notification | Skip:
    route = request.route
    if route is None or route.mapping is None:
        name = request.route_name or "default"
        raise RouteHasNoMapping(
            f"The route '{name[:64]}' has no 'mapping', which /api/hooks/generic needs to read a payload; "
            "nothing was sent. Name a route that has one in ?route=, or add one (README, 'mapping').",
            errors=[FieldError("MAIL_ROUTES", f"route '{name[:64]}'.mapping: required for /api/hooks/generic")],
        )
    mapping = route.mapping
    values = _MappedValues(mapping, request.payload)
    if mapping.when is not None and (values.get("when", MAX_FACT_CHARS) or "").lower() in _FALSE_WORDS:
        return Skip(f"the route's mapping 'when' ({mapping.when[:80]}) is false for this payload")
    title = values.get("title", MAX_TITLE_CHARS)
    if title is None:
        raise _missing("title", mapping.title, values.lacking.get("title"))
    for name in mapping.required:
        if values.get(name, MAX_TEXT_CHARS) is None:
            raise _missing(name, mapping.spec(name) or "", values.lacking.get(name))
    status_text = values.get("status", MAX_FACT_CHARS)
    status = _status(status_text, mapping.status_values)
    severity_text = values.get("severity", MAX_FACT_CHARS)
    facts = [
        (label, text) for label, spec in mapping.facts.items() if (text := values.render(spec, label, MAX_FACT_CHARS))
    ]
    if status is Status.INFO and status_text and status_text.lower() not in ("info", "information"):
        facts.append(("Status", status_text))  # a word we do not know: shown, not guessed
    link = values.get("link", MAX_FACT_CHARS)
    dedup_value = values.get("dedupKey", MAX_TEXT_CHARS)
    return Notification(
        source=request.source,
        status=status,
        title=" ".join(title.split()),  # one line
        severity=_severity(severity_text, mapping.severity_values),
        summary=values.get("summary", MAX_TEXT_CHARS),
        facts=facts,
        links=[Link("Details", link)] if link else [],
        dedup_key="generic:" + hashlib.sha256(dedup_value.encode() if dedup_value else request.body).hexdigest(),
        repeats=dedup_value is None,
    )


class _MappedValues:
    """The payload's values for one mapping, each rendered once."""

    def __init__(self, mapping: Mapping, payload: Any) -> None:
        self._mapping = mapping
        self._payload = payload
        self._context: dict[str, Any] | None = None
        self.lacking: dict[str, str] = {}  # mapped name → what its template missed

    def get(self, name: str, max_chars: int) -> str | None:
        spec = self._mapping.spec(name)
        return self.render(spec, name, max_chars) if spec is not None else None

    def render(self, spec: str, name: str, max_chars: int) -> str | None:
        text = self._template(spec, name) if is_template(spec) else _at_path(self._payload, spec)
        if text is None or not text.strip():
            return None
        text = text.strip()
        return text if len(text) <= max_chars else text[:max_chars].rstrip() + " …"

    def _template(self, spec: str, name: str) -> str:
        if self._context is None:
            fields = self._payload if isinstance(self._payload, dict) else {}
            self._context = {**fields, "payload": self._payload}
        from jinja2 import UndefinedError

        try:
            return _compiled(spec).render(self._context)
        except UndefinedError as exc:
            # A value the template prints is not in the payload: the mapped value is missing,
            # which refuses the payload only when the value is the title or required.
            self.lacking[name] = str(exc)[:120]
            return ""
        except Exception as exc:
            # Whatever a sound template fails on (an operation on a missing value, a division by
            # zero, something the sandbox refuses) comes from this payload: the caller's problem.
            failure = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise InvalidHookPayload(
                f"The route's mapping template for '{name}' failed on this payload ({failure}).",
                errors=[FieldError(name, "the mapping's template failed on this payload")],
            ) from None


def _at_path(payload: Any, spec: str) -> str | None:
    value = payload
    for key in path_segments(spec):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isascii() and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)  # shown as it came, rather than dropped
    return value if isinstance(value, str) else text_of(value)


@functools.lru_cache(maxsize=_COMPILED_TEMPLATES)
def _compiled(spec: str) -> Template:
    return _environment().from_string(spec)


@functools.cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class MissingValue(ChainableUndefined):
        """A value the payload lacks: false when tested, empty when looped over, refused when printed.

        ``{% if heartbeat.msg %}`` and ``{{ x | default("n/a") }}`` work on any payload, while
        ``{{ monitor.name }}`` on a payload without it fails, and the payload is refused naming the
        mapped field, instead of a mail that says " is down".
        """

        __slots__ = ()

        def __str__(self) -> str:
            self._fail_with_undefined_error()

    # Text out, not HTML: the mail's renderer escapes every value it puts in HTML.
    return SandboxedEnvironment(autoescape=False, undefined=MissingValue)


def _status(text: str | None, values: dict[str, StatusName]) -> Status:
    if text is None:
        return Status.INFO
    key = text.strip().lower()
    named = {word.strip().lower(): status for word, status in values.items()}.get(key)
    if named is not None:
        return Status(named)
    return _STATUS_WORDS.get(key, Status.INFO)


def _severity(text: str | None, values: dict[str, SeverityName]) -> Severity:
    if text is None:
        return Severity.UNKNOWN
    named = {word.strip().lower(): severity for word, severity in values.items()}.get(text.strip().lower())
    return Severity(named) if named is not None else Severity.parse(text)


def _missing(name: str, spec: str, lacking: str | None) -> InvalidHookPayload:
    why = f"; {lacking}" if lacking else ""
    return InvalidHookPayload(
        f"The payload has no value for '{name}', which the route's mapping takes from '{spec[:120]}'{why}.",
        errors=[FieldError(name, f"missing in the payload (mapped from {spec[:120]}){why}")],
    )
