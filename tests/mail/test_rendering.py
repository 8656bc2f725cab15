import datetime as dt
import json
import re
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
import pytest

from shared.mail.compiled_templates import MANIFEST_NAME, compiled_dir, loader_for, write_compiled
from shared.mail.rendering import (
    BUILT_IN_TEMPLATES,
    MAX_SUBJECT_CHARS,
    RESOLVED_COLOUR,
    SEVERITY_COLOURS,
    Renderer,
    _environment,
    colour_of,
    header_title,
    linkified,
    one_line,
    readable,
    safe_url,
    status_line,
)
from shared.settings.routes import Route
from shared.sources.notification import Alert, Link, Notification, Severity, Status, duration_text

NOW = dt.datetime.now(dt.UTC)
HOSTILE = '<script>alert("x")</script>'


def notification(**changes: object) -> Notification:
    now = dt.datetime.now(dt.UTC)
    base: dict[str, object] = {
        "source": "alertmanager",
        "status": Status.FIRING,
        "title": "[FIRING:1] HighMemoryUsage",
        "severity": Severity.CRITICAL,
        "summary": "Memory above 90%",
        "facts": [("cluster", HOSTILE)],
        "alerts": [
            Alert(
                status=Status.FIRING,
                name="HighMemoryUsage",
                severity=Severity.CRITICAL,
                labels={"instance": HOSTILE},
                annotations={"note": "x & y"},
                starts_at=now - dt.timedelta(hours=3, minutes=12),
                links=[Link("Source", "https://prometheus.example/graph"), Link("Evil", "javascript:alert(1)")],
            )
        ],
        "truncated_alerts": 2,
    }
    base.update(changes)
    return Notification(**base)  # type: ignore[arg-type]


def test_html_escapes_every_payload_value_and_drops_unsafe_links() -> None:
    rendered = Renderer(None).render(notification(), Route())
    assert rendered.content_type == "html"
    assert HOSTILE not in rendered.body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rendered.body
    assert "x &amp; y" in rendered.body
    assert 'href="https://prometheus.example/graph"' in rendered.body
    assert "javascript:" not in rendered.body
    assert "#b3261e" in rendered.body, "critical colour"
    assert "3 h 12 min ago" in rendered.body
    assert "2 more alerts of this group were not shown" in rendered.body


def test_resolved_is_green() -> None:
    rendered = Renderer(None).render(notification(status=Status.RESOLVED), Route())
    assert "background:#188038" in rendered.body


def test_text_format_is_plain() -> None:
    rendered = Renderer(None).render(notification(), Route(format="text"))
    assert rendered.content_type == "text"
    assert HOSTILE in rendered.body, "plain text needs no escaping"
    assert "  instance: " + HOSTILE in rendered.body, "a lone alert's labels, once"
    assert "Source: https://prometheus.example/graph" in rendered.body
    assert "javascript:" not in rendered.body


def test_subject_is_one_trimmed_line_with_the_route_prefix() -> None:
    rendered = Renderer(None).render(
        notification(title="a\r\nBcc: x@evil.example\u2028b   c"), Route.model_validate({"subjectPrefix": "[P1]"})
    )
    assert rendered.subject == "[P1] a Bcc: x@evil.example b c"
    long = Renderer(None).render(notification(title="word " * 100), Route())
    assert len(long.subject) == MAX_SUBJECT_CHARS
    assert long.subject.endswith("…")


def test_helpers() -> None:
    assert one_line("  a \n\t b ") == "a b"
    assert safe_url(" https://x.example ") == "https://x.example"
    assert safe_url("data:text/html,hi") == ""
    assert safe_url(None) == ""
    assert duration_text(NOW - dt.timedelta(days=2, hours=3), NOW) == "2 d 3 h"
    assert duration_text(NOW - dt.timedelta(seconds=42), NOW) == "42 s"
    assert duration_text(None) == ""


def alert(name: str, status: Status = Status.FIRING, **changes: object) -> Alert:
    fields: dict[str, object] = {"status": status, "name": name, **changes}
    return Alert(**fields)  # type: ignore[arg-type]


def test_a_firing_alert_without_severity_has_the_warning_colour_and_info_events_are_grey() -> None:
    firing = notification(severity=Severity.UNKNOWN, alerts=[alert("Unrated")])
    assert colour_of(firing) == SEVERITY_COLOURS[Severity.WARNING]
    assert f"background:{SEVERITY_COLOURS[Severity.WARNING]}" in Renderer(None).render(firing, Route()).body
    assert colour_of(notification(status=Status.INFO, severity=Severity.UNKNOWN)) == SEVERITY_COLOURS[Severity.UNKNOWN]
    assert colour_of(notification(status=Status.RESOLVED)) == RESOLVED_COLOUR


def test_status_line_counts_every_alert_and_says_what_was_left_out() -> None:
    mixed = notification(alerts=[alert("A"), alert("B", Status.RESOLVED)], truncated_alerts=3)
    assert status_line(mixed) == "FIRING · 5 alerts: 1 firing, 1 resolved, 3 not included · critical"
    assert status_line(notification(status=Status.RESOLVED, truncated_alerts=0)) == "RESOLVED · 1 alert"
    assert status_line(notification(status=Status.INFO, severity=Severity.ERROR, alerts=[])) == "ERROR"
    assert status_line(notification(status=Status.INFO, severity=Severity.UNKNOWN, alerts=[])) == "INFO"


def test_summary_rows_put_firing_first_and_labels_common_to_all_alerts_once() -> None:
    common = {"env": "prod", "job": "node"}
    grouped = notification(
        facts=[],
        alerts=[
            alert("Gone", Status.RESOLVED, labels={**common, "instance": "a"}, ends_at=NOW),
            alert(
                "Burning",
                labels={**common, "instance": "b"},
                starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
            ),
        ],
        truncated_alerts=0,
    )
    body = Renderer(None).render(grouped, Route()).body
    assert body.index("Burning") < body.index("Gone"), "firing before resolved"
    assert body.count("env</td>") == 1 and "Labels of all alerts" in body, "common labels in one table"
    assert "instance=b" in body and "instance=a" in body, "the differing label in each summary row"
    assert re.search(r"\(5 min( \d+ s)? ago\)", body)
    text = Renderer(None).render(grouped, Route(format="text")).body
    assert text.index("* FIRING") < text.index("* RESOLVED") and text.count("env: prod") == 1


def test_values_are_rounded_for_reading_and_links_in_prose_are_escaped_links() -> None:
    assert (readable("44.23943737541908"), readable("87.31"), readable("0.000123456"), readable("1e-9")) == (
        "44.24",
        "87.31",
        "0.000123",
        "1e-9",
    )
    assert readable("web-1") == "web-1"
    described = notification(description=f"See https://grafana.example/d/1?a=1&b=2. {HOSTILE}")
    body = Renderer(None).render(described, Route()).body
    assert '<a href="https://grafana.example/d/1?a=1&amp;b=2"' in body, "the trailing dot is not the address's"
    assert HOSTILE not in body and "&lt;script&gt;" in body
    assert str(linkified("javascript:alert(1) x")) == "javascript:alert(1) x"


def test_header_title_drops_the_status_tag_the_status_line_already_says() -> None:
    assert header_title("[FIRING:3] HighMemoryUsage (prod)") == "HighMemoryUsage (prod)"
    assert header_title("[Fired] Sev2 rule on vm") == "Sev2 rule on vm"
    assert header_title("[failure] CI on main") == "[failure] CI on main"
    assert header_title("[RESOLVED]") == "[RESOLVED]"


def test_html_is_built_for_outlook_desktop_and_dark_mode() -> None:
    """Word's engine (Outlook for Windows) ignores div widths, max-width, flexbox, grid and positioning:
    layout is tables with inline styles, and a fixed 640 px table only Outlook reads (caniemail.com)."""
    body = Renderer(None).render(notification(), Route()).body
    assert "<div" not in body
    assert not re.search(r"display:\s*(flex|grid)|position:\s*(absolute|fixed)|float:", body)
    assert '<!--[if mso]><table role="presentation" width="640"' in body
    assert all('role="presentation"' in tag for tag in re.findall(r"<table[^>]*>", body))
    assert '<meta name="color-scheme" content="light dark">' in body
    assert "@media (prefers-color-scheme: dark)" in body


# --- The built-in templates, compiled ahead of time (shared/mail/compiled_templates.py) ---------------


def test_the_committed_compiled_templates_are_what_the_sources_compile_to_now(tmp_path: Path) -> None:
    sources = tmp_path / "templates"
    shutil.copytree(BUILT_IN_TEMPLATES, sources, ignore=shutil.ignore_patterns("compiled"))
    fresh = write_compiled(_environment(None, compiled=False), sources)
    committed = compiled_dir(BUILT_IN_TEMPLATES)
    names = sorted(path.name for path in fresh.iterdir())
    assert names == sorted(path.name for path in committed.iterdir() if path.name != "__pycache__")
    for name in names:
        assert (committed / name).read_bytes() == (fresh / name).read_bytes(), (
            f"{name} is out of date: run `.venv/bin/python scripts/compile_templates.py` and commit the result"
        )


def test_the_app_renders_from_the_compiled_modules_exactly_as_from_the_sources() -> None:
    built_in = _environment(None).loader
    assert isinstance(built_in, jinja2.ChoiceLoader)
    assert isinstance(built_in.loaders[-1], jinja2.ModuleLoader), "the compiled modules are in use"
    from_sources = _environment(None, compiled=False)
    for route_format in ("html", "text"):
        route = Route(format=route_format)
        compiled_mail = Renderer(None).render(notification(), route)
        source_renderer = Renderer(None)
        source_renderer._environment = from_sources
        assert compiled_mail == source_renderer.render(notification(), route)


def test_a_template_edited_without_compiling_again_is_read_from_its_source(tmp_path: Path) -> None:
    sources = tmp_path / "templates"
    shutil.copytree(BUILT_IN_TEMPLATES, sources)
    assert isinstance(loader_for(sources), jinja2.ModuleLoader)
    template = sources / "default.subject.j2"
    template.write_text("edited: " + template.read_text(encoding="utf-8"), encoding="utf-8")
    loader = loader_for(sources)
    assert isinstance(loader, jinja2.FileSystemLoader)
    edited = jinja2.Environment(loader=loader, autoescape=False).get_template("default.subject.j2")  # noqa: S701 (a subject)
    assert edited.render(n=notification()).startswith("edited: ")


def test_modules_compiled_by_another_jinja2_are_not_used(tmp_path: Path) -> None:
    sources = tmp_path / "templates"
    shutil.copytree(BUILT_IN_TEMPLATES, sources)
    manifest_path = compiled_dir(sources) / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "jinja2": "2.11.3"}), encoding="utf-8")
    assert isinstance(loader_for(sources), jinja2.FileSystemLoader)
    manifest_path.unlink()
    assert isinstance(loader_for(sources), jinja2.FileSystemLoader)


def test_threads_loading_the_compiled_templates_at_once_all_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Jinja2's ModuleLoader imports a template's module, then takes it out of sys.modules again: two
    # threads loading one template at once raced in between (KeyError from importlib, a 500 for the
    # first concurrent webhooks of a new instance). As on a new instance: fresh environments, and
    # modules compiled from source (no bytecode yet), which is when the window is widest.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch all the time: a window of a few bytecodes is enough
    try:
        _load_at_once(tmp_path)
    finally:
        sys.setswitchinterval(switch_interval)


def _load_at_once(tmp_path: Path) -> None:
    for attempt in range(80):
        sources = tmp_path / f"templates-{attempt}"
        shutil.copytree(BUILT_IN_TEMPLATES, sources, ignore=shutil.ignore_patterns("__pycache__"))
        environment = _environment(None)
        environment.loader = loader_for(sources)
        barrier = threading.Barrier(12)

        def load(_: int, environment: jinja2.Environment = environment, barrier: threading.Barrier = barrier) -> str:
            barrier.wait()
            return environment.get_template("default.subject.j2").render(n=notification(), route=Route())

        with ThreadPoolExecutor(12) as pool:
            rendered = list(pool.map(load, range(12)))
        assert len(set(rendered)) == 1


def test_the_compiled_loader_loads_one_template_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stress test above can pass by luck; this one cannot: Jinja2's own load, slowed down, never
    # runs twice at once however many threads ask.
    running, most = 0, 0
    guard = threading.Lock()
    original = jinja2.ModuleLoader.load

    def slow_load(self: jinja2.ModuleLoader, *args: Any, **kwargs: Any) -> jinja2.Template:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        try:
            return original(self, *args, **kwargs)
        finally:
            with guard:
                running -= 1

    monkeypatch.setattr(jinja2.ModuleLoader, "load", slow_load)
    environment = _environment(None)
    names = ["default.subject.j2", "default.html.j2", "default.text.j2"] * 3
    with ThreadPoolExecutor(len(names)) as pool:
        templates = list(pool.map(environment.get_template, names))
    assert all(isinstance(template, jinja2.Template) for template in templates)
    assert most == 1
