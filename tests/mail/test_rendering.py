import datetime as dt

from shared.mail.rendering import MAX_SUBJECT_CHARS, Renderer, one_line, safe_url
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
    assert "2 more alert(s)" in rendered.body


def test_resolved_is_green() -> None:
    rendered = Renderer(None).render(notification(status=Status.RESOLVED), Route())
    assert "background:#188038" in rendered.body


def test_text_format_is_plain() -> None:
    rendered = Renderer(None).render(notification(), Route(format="text"))
    assert rendered.content_type == "text"
    assert HOSTILE in rendered.body, "plain text needs no escaping"
    assert "instance: " + HOSTILE in rendered.body
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
