"""Rendering: a Notification and its route become a subject and an HTML or text body.

Templates are Jinja2 files. Each is looked up by name, first in MAIL_TEMPLATES_DIR, then among the
built-in ones in shared/mail/templates: the route's ``template`` name, then the source's name, then
``default`` — so ``alertmanager.html.j2`` in MAIL_TEMPLATES_DIR replaces the HTML of every
Alertmanager mail, and a route with ``"template": "db"`` uses ``db.subject.j2`` / ``db.html.j2``.
HTML templates autoescape every value: a webhook's payload is the sender's text, and unescaped in an
HTML body it is HTML injection (https://cheatsheetseries.owasp.org/cheatsheets/Cross_Site_Scripting_Prevention_Cheat_Sheet.html;
https://jinja.palletsprojects.com/en/stable/api/#autoescaping). Subjects and text do not need it.
Jinja2 is imported on the first render, not at start, to keep it off the cold-start path.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shared.mail.graph_message import MAX_GRAPH_REQUEST_BYTES
from shared.mail.policy import MessageTooLarge
from shared.settings.routes import Route
from shared.sources.notification import Alert, Notification, Severity, Status, duration_text, time_text

if TYPE_CHECKING:
    import jinja2
    import markupsafe

BUILT_IN_TEMPLATES = Path(__file__).parent / "templates"
# Outlook shows about 70 characters of a subject on a phone and Exchange stores 255; long alert
# titles are cut here, with an ellipsis, rather than mid-word by a client.
MAX_SUBJECT_CHARS = 160
_BLANKS_RE = re.compile(r"[\s\x00-\x1f\x7f\x85\u2028\u2029]+")
# "[FIRING:3]", "[RESOLVED]" (Alertmanager, Grafana), "[Fired]", "[Activated]" (Azure Monitor).
_STATUS_TAG_RE = re.compile(r"^\s*\[(?:FIRING(?::\d+)?|RESOLVED|FIRED|ACTIVATED|DEACTIVATED)\]\s*", re.IGNORECASE)
_LONG_DECIMAL_RE = re.compile(r"-?\d+\.\d{3,}")
_URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}"

SEVERITY_COLOURS = {
    Severity.CRITICAL: "#b3261e",
    Severity.ERROR: "#d93025",
    Severity.WARNING: "#e37400",
    Severity.INFO: "#1a73e8",
    Severity.UNKNOWN: "#5f6368",
}
RESOLVED_COLOUR = "#188038"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str
    content_type: Literal["text", "html"]


class Renderer:
    def __init__(self, templates_dir: Path | None) -> None:
        self._templates_dir = templates_dir
        self._environment: jinja2.Environment | None = None
        self._lock = threading.Lock()

    def render(self, notification: Notification, route: Route) -> RenderedMail:
        environment = self._jinja()
        context, names = _context(notification, route), _names(notification, route)
        subject = _render_bounded(environment.select_template([f"{name}.subject.j2" for name in names]), context)
        body = _render_bounded(environment.select_template([f"{name}.{route.format}.j2" for name in names]), context)
        if route.subject_prefix:
            subject = f"{route.subject_prefix} {subject}"
        return RenderedMail(subject=one_line(subject), body=body, content_type=route.format)

    def render_text(self, notification: Notification, route: Route) -> str:
        """The plain-text body (``<name>.text.j2``, as a ``"format": "text"`` route sends), for the
        text part that goes beside the HTML in a MIME mail."""
        template = self._jinja().select_template([f"{name}.text.j2" for name in _names(notification, route)])
        return _render_bounded(template, _context(notification, route))

    def check(self, template_names: list[str]) -> list[str]:
        """Compile the named templates and say what is wrong, for /api/health and settings checks."""
        import jinja2

        environment = self._jinja()
        problems = []
        for name in template_names:
            for kind in ("subject", "html", "text"):
                try:
                    environment.get_template(f"{name}.{kind}.j2")
                except jinja2.TemplateNotFound:
                    continue
                except jinja2.TemplateError as exc:
                    problems.append(f"{name}.{kind}.j2: {exc}")
        return problems

    def _jinja(self) -> jinja2.Environment:
        with self._lock:
            if self._environment is None:
                self._environment = _environment(self._templates_dir)
            return self._environment


def _context(notification: Notification, route: Route) -> dict[str, Any]:
    return {
        "n": notification,
        "route": route,
        "colour": colour_of(notification),
        "status_line": status_line(notification),
    }


def _names(notification: Notification, route: Route) -> list[str]:
    """The template names to try, in order: the route's, the source's, the built-in default."""
    return [name for name in (route.template, notification.source, "default") if name]


def _environment(templates_dir: Path | None, *, compiled: bool = True) -> jinja2.Environment:
    """The Jinja2 environment: MAIL_TEMPLATES_DIR first, then the built-in templates, from their
    compiled modules unless ``compiled`` is False (shared/mail/compiled_templates.py)."""
    import jinja2

    from shared.mail.compiled_templates import loader_for

    built_in = loader_for(BUILT_IN_TEMPLATES) if compiled else jinja2.FileSystemLoader(str(BUILT_IN_TEMPLATES))
    loaders = [jinja2.FileSystemLoader(str(templates_dir)), built_in] if templates_dir else [built_in]
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = time_text
    environment.filters["when_short"] = short_time_text
    environment.filters["duration"] = duration_text
    environment.filters["safe_url"] = safe_url
    environment.filters["readable"] = readable
    environment.filters["linkified"] = linkified
    environment.filters["header_title"] = header_title
    environment.filters["alert_colour"] = alert_colour
    environment.globals["Status"] = Status
    environment.globals["Severity"] = Severity
    environment.globals["RESOLVED_COLOUR"] = RESOLVED_COLOUR
    environment.globals["SEVERITY_COLOURS"] = SEVERITY_COLOURS
    return environment


def _render_bounded(template: jinja2.Template, context: dict[str, Any]) -> str:
    """The template's text, stopped as soon as it is longer than any mail Graph takes.

    Every character is at least one byte of the Graph request, so a text of MAX_GRAPH_REQUEST_BYTES
    characters can only be refused: rendering it whole first cost seconds and hundreds of MiB
    (one alert with 6 MB of labels renders to far more than 6 MB of HTML).
    """
    parts, size = [], 0
    for part in template.generate(context):
        size += len(part)
        if size >= MAX_GRAPH_REQUEST_BYTES:
            raise MessageTooLarge(
                f"The mail rendered from this notification would be over {MAX_GRAPH_REQUEST_BYTES:,} characters; "
                f"Microsoft Graph accepts less than {MAX_GRAPH_REQUEST_BYTES:,} bytes (4 MB). Nothing was sent."
            )
        parts.append(part)
    return "".join(parts)


def colour_of(notification: Notification) -> str:
    """The header's colour: green when resolved; by severity otherwise. A firing alert without a
    severity is treated as a warning: grey reads as "nothing to do", and something is burning."""
    if notification.status is Status.RESOLVED:
        return RESOLVED_COLOUR
    if notification.status is Status.FIRING and notification.severity is Severity.UNKNOWN:
        return SEVERITY_COLOURS[Severity.WARNING]
    return SEVERITY_COLOURS[notification.severity]


def alert_colour(alert: Alert) -> str:
    if alert.status is Status.RESOLVED:
        return RESOLVED_COLOUR
    if alert.status is Status.FIRING and alert.severity is Severity.UNKNOWN:
        return SEVERITY_COLOURS[Severity.WARNING]
    return SEVERITY_COLOURS[alert.severity]


def status_line(notification: Notification) -> str:
    """The header's first line: 'FIRING · 5 alerts · critical', 'RESOLVED · 1 alert', 'ERROR', 'INFO'.

    The count includes the alerts the sender left out (Alertmanager's max_alerts), so a reader
    sees the size of the problem, not the size of the payload.
    """
    if notification.status is Status.INFO:
        # An event, not an alert: its severity, when it has one, says more than "INFO".
        return (notification.severity if notification.severity is not Severity.UNKNOWN else Status.INFO).value.upper()
    parts = [notification.status.value.upper()]
    if count := notification.alert_count:
        counted = f"{count} alert{'' if count == 1 else 's'}"
        split = []
        if notification.firing_count and notification.resolved_count:
            split = [f"{notification.firing_count} firing", f"{notification.resolved_count} resolved"]
        if notification.truncated_alerts:
            split.append(f"{notification.truncated_alerts} not included")
        parts.append(f"{counted}: {', '.join(split)}" if split else counted)
    if notification.severity is not Severity.UNKNOWN and notification.status is not Status.RESOLVED:
        parts.append(notification.severity.value)
    return " · ".join(parts)


def header_title(title: str) -> str:
    """The title without a leading '[FIRING:3]' or '[RESOLVED]': the status line above says it."""
    return _STATUS_TAG_RE.sub("", title, count=1) or title


def readable(value: Any) -> str:
    """A measured number as a person reads it: 44.23943737541908 → '44.24', 0.000123456 → '0.000123'.

    Anything that is not a plain decimal with more than two decimals is returned unchanged.
    """
    text = str(value) if value is not None else ""
    if not _LONG_DECIMAL_RE.fullmatch(text.strip()):
        return text
    number = float(text)
    if abs(number) >= 1:
        shown = f"{number:.2f}"
    else:
        shown = f"{number:.3g}"
        if "e" in shown:  # tiny: keep as sent rather than in exponent form
            return text
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def linkified(text: Any) -> markupsafe.Markup:
    """Escaped text in which every http(s) address is a link (Grafana's message, Azure's communications)."""
    import markupsafe

    raw = str(text) if text is not None else ""
    pieces = []
    position = 0
    for match in _URL_RE.finditer(raw):
        url = match.group(0).rstrip(_URL_TRAILING)
        end = match.start() + len(url)
        pieces.append(markupsafe.escape(raw[position : match.start()]))
        pieces.append(
            markupsafe.Markup('<a href="{0}" style="color:#0969da;word-break:break-all;">{0}</a>').format(url)
        )
        position = end
    pieces.append(markupsafe.escape(raw[position:]))
    return markupsafe.Markup("").join(pieces)


def short_time_text(moment: object) -> str:
    """'2026-11-25 19:13 UTC': a summary row's start, to the minute (the details keep the seconds)."""
    return time_text(moment)[:16] + " UTC" if time_text(moment) else ""


def one_line(text: str) -> str:
    """A subject: every run of blanks and line breaks becomes one space; long ones are cut."""
    line = _BLANKS_RE.sub(" ", text).strip()
    if len(line) > MAX_SUBJECT_CHARS:
        line = line[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"
    return line


def safe_url(value: Any) -> str:
    """Only http(s) links become links: a javascript: or data: URL from a payload is dropped."""
    url = value.strip() if isinstance(value, str) else ""
    return url if url.lower().startswith(("https://", "http://")) else ""


def compile_built_in_templates() -> Path:
    """Write the built-in templates' compiled modules (scripts/compile_templates.py); returns their folder."""
    from shared.mail.compiled_templates import write_compiled

    return write_compiled(_environment(None, compiled=False), BUILT_IN_TEMPLATES)
