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

from shared.settings.routes import Route
from shared.sources.notification import Notification, Severity, Status, duration_text, time_text

if TYPE_CHECKING:
    import jinja2

BUILT_IN_TEMPLATES = Path(__file__).parent / "templates"
# Outlook shows about 70 characters of a subject on a phone and Exchange stores 255; long alert
# titles are cut here, with an ellipsis, rather than mid-word by a client.
MAX_SUBJECT_CHARS = 160
_BLANKS_RE = re.compile(r"[\s\x00-\x1f\x7f\x85\u2028\u2029]+")

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
        context = {"n": notification, "route": route, "colour": colour_of(notification)}
        names = [name for name in (route.template, notification.source, "default") if name]
        subject = environment.select_template([f"{name}.subject.j2" for name in names]).render(context)
        body = environment.select_template([f"{name}.{route.format}.j2" for name in names]).render(context)
        if route.subject_prefix:
            subject = f"{route.subject_prefix} {subject}"
        return RenderedMail(subject=one_line(subject), body=body, content_type=route.format)

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


def _environment(templates_dir: Path | None) -> jinja2.Environment:
    import jinja2

    folders = [str(templates_dir)] if templates_dir else []
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, str(BUILT_IN_TEMPLATES)]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = time_text
    environment.filters["duration"] = duration_text
    environment.filters["safe_url"] = safe_url
    environment.globals["Status"] = Status
    environment.globals["Severity"] = Severity
    environment.globals["RESOLVED_COLOUR"] = RESOLVED_COLOUR
    environment.globals["SEVERITY_COLOURS"] = SEVERITY_COLOURS
    return environment


def colour_of(notification: Notification) -> str:
    if notification.status is Status.RESOLVED:
        return RESOLVED_COLOUR
    return SEVERITY_COLOURS[notification.severity]


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
