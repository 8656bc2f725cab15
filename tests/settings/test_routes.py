import json
from pathlib import Path

import pytest

from shared.settings import load_settings
from shared.settings.routes import DEFAULT_ROUTE, Route, parse_routes
from tests.helpers.app import SENDER, settings_from


def problems_of(**values: str) -> list[str]:
    """What makes routes unusable; the settings themselves still load."""
    settings = load_settings({"MAIL_SENDER": SENDER, **values})
    return [f"{p.setting}: {p.message}" for p in settings.route_problems.all()]


def test_a_route_takes_every_documented_field() -> None:
    routes = parse_routes(
        json.dumps(
            {
                "db": {
                    "to": "dba@contoso.com",
                    "cc": ["lead@contoso.com", {"address": "ops@contoso.com", "name": "Ops"}],
                    "bcc": [],
                    "from": "alerts@contoso.com",
                    "subjectPrefix": "[DB]",
                    "sendResolved": False,
                    "format": "text",
                    "template": "db-alerts",
                    "events": ["workflow_run", "release"],
                }
            }
        )
    )
    route = routes["db"]
    assert [a.address for a in route.recipients()] == ["dba@contoso.com", "lead@contoso.com", "ops@contoso.com"]
    assert (route.from_, route.subject_prefix, route.send_resolved, route.format, route.template) == (
        "alerts@contoso.com",
        "[DB]",
        False,
        "text",
        "db-alerts",
    )
    assert route.events == ["workflow_run", "release"]


def test_route_defaults() -> None:
    route = Route()
    assert (route.send_resolved, route.format, route.template, route.events) == (True, "html", None, None)


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"a b": {}}', "route name 'a b'"),
        ('{"x": {"to": "not-an-address"}}', "route 'x'.to[0].address"),
        ('{"x": {"too": "a@contoso.com"}}', "route 'x'.too: unknown route setting"),
        ('{"x": {"format": "pdf"}}', "route 'x'.format"),
        ('{"x": {"template": "../etc/passwd"}}', "route 'x'.template"),
        ('{"x": {"subjectPrefix": "a\\nb"}}', "single line"),
    ],
)
def test_route_errors_name_route_and_field(text: str, message_part: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_routes(text)
    assert message_part in str(caught.value)


def test_default_route_is_mail_default_to_unless_configured() -> None:
    # Without a configured default route there is one with no recipients of its own: mail policy,
    # the one place MAIL_DEFAULT_TO applies, sends its mail there (tests/endpoints/test_hooks.py).
    settings = settings_from(MAIL_DEFAULT_TO="oncall@contoso.com")
    assert settings.routes[DEFAULT_ROUTE].recipients() == []
    configured = settings_from(MAIL_ROUTES=json.dumps({"default": {"to": "noc@contoso.com"}}))
    assert [a.address for a in configured.routes[DEFAULT_ROUTE].to] == ["noc@contoso.com"]


def test_routes_from_a_file(tmp_path: Path) -> None:
    routes_file = tmp_path / "routes.json"
    routes_file.write_text(json.dumps({"team": {"to": "team@contoso.com"}}))
    assert "team" in settings_from(MAIL_ROUTES_FILE=str(routes_file)).routes
    assert any("cannot read" in p for p in problems_of(MAIL_ROUTES_FILE=str(tmp_path / "missing.json")))
    both = problems_of(MAIL_ROUTES_FILE=str(routes_file), MAIL_ROUTES="{}")
    assert any("not both" in p for p in both)


def test_route_recipients_obey_allowed_domains_and_from_obeys_allowed_senders() -> None:
    problems = problems_of(
        MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com",
        MAIL_ROUTES=json.dumps(
            {
                "x": {"to": "a@contoso.com", "bcc": "spy@evil.example"},
                "y": {"to": "b@contoso.com", "from": "ceo@contoso.com"},
            }
        ),
    )
    assert problems == [
        "MAIL_ROUTES: route 'x': spy@evil.example is outside MAIL_ALLOWED_RECIPIENT_DOMAINS",
        "MAIL_ROUTES: route 'y': from ceo@contoso.com is not in MAIL_ALLOWED_SENDERS or MAIL_ALLOWED_FROM",
    ]


def test_a_bad_route_makes_only_itself_unusable() -> None:
    settings = settings_from(
        MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com",
        MAIL_ROUTES=json.dumps({"good": {"to": "a@contoso.com"}, "bad": {"to": "b@evil.example"}, "typo": {"tto": 1}}),
    )
    assert set(settings.routes) == {"good", DEFAULT_ROUTE}
    assert settings.route_problems.of("good") == []
    assert [p.message for p in settings.route_problems.of("bad")] == [
        "route 'bad': b@evil.example is outside MAIL_ALLOWED_RECIPIENT_DOMAINS"
    ]
    assert [p.message for p in settings.route_problems.of("typo")] == ["route 'typo'.tto: unknown route setting"]


def test_a_broken_default_route_is_not_replaced_by_mail_default_to() -> None:
    settings = settings_from(MAIL_DEFAULT_TO="oncall@contoso.com", MAIL_ROUTES=json.dumps({"default": {"to": "x"}}))
    assert DEFAULT_ROUTE not in settings.routes
    assert settings.route_problems.of(DEFAULT_ROUTE)


@pytest.mark.parametrize(
    ("values", "message_part"),
    [
        ({"MAIL_ROUTES": "{nope"}, "MAIL_ROUTES: not valid JSON"),
        ({"MAIL_ROUTES": "[]"}, "MAIL_ROUTES: must be a JSON object"),
        ({"MAIL_ROUTES": "{}", "MAIL_ROUTES_FILE": "/nowhere.json"}, "MAIL_ROUTES_FILE: set either"),
        ({"MAIL_ROUTES_FILE": "/nowhere/routes.json"}, "MAIL_ROUTES_FILE: cannot read"),
    ],
)
def test_unreadable_routes_make_every_route_unusable_and_nothing_else(
    values: dict[str, str], message_part: str
) -> None:
    settings = settings_from(**values)  # loads: /api/mail keeps working
    assert settings.routes == {}
    [problem] = settings.route_problems.of("any")
    assert f"{problem.setting}: {problem.message}".startswith(message_part)
