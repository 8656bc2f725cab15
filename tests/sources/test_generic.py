"""/api/hooks/generic: any JSON, read by the route's ``mapping`` (shared/settings/mapping.py, sources/generic.py).

Payloads (tests/data/generic; each sender's mapping in its mappings/ folder) are shaped as their
senders send them: Uptime Kuma's webhook notification (``heartbeat``, ``monitor``, ``msg``), a Datadog
webhook whose payload is made of Datadog's ``$VARIABLES``, and the Jenkins Notification plugin's
JSON. Everything goes over the app (handle_hook with a real func.HttpRequest, the fake Graph over
loopback), with the routes as a user writes them in MAIL_ROUTES.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.settings import load_settings
from shared.settings.mapping import Mapping
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, SENDER, hook_request, response_json

TOKEN = "hook-token-4Kq9vXw2Lr7T"


def mapping(sender: str) -> dict[str, Any]:
    """The mapping a route uses for this sender's payloads (tests/data/generic/mappings, shared with the gallery)."""
    document: dict[str, Any] = json.loads((DATA / "generic" / "mappings" / f"{sender}.json").read_text())
    return document


UPTIME_KUMA = {"to": "oncall@contoso.com", "subjectPrefix": "[Uptime]", "mapping": mapping("uptime-kuma")}
DATADOG = {"to": "oncall@contoso.com", "mapping": mapping("datadog")}
JENKINS = {"to": "dev@contoso.com", "mapping": mapping("jenkins")}
ROUTES = {"uptime": UPTIME_KUMA, "datadog": DATADOG, "jenkins": JENKINS}


def payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "generic" / f"{name}.json").read_text())
    return document


def post(runtime: Any, route: str | None, body: Any, **headers: str) -> Any:
    return handle_hook(hook_request("generic", body, route=route, headers=headers), runtime)


@pytest.fixture
def runtime(mi_runtime: RuntimeFactory) -> Any:
    return mi_runtime(MAIL_ROUTES=json.dumps(ROUTES))


def mail(graph: FakeGraph) -> dict[str, Any]:
    message: dict[str, Any] = graph.sent[-1].message
    return message


# --- mapped payloads ------------------------------------------------------------------------------


def test_uptime_kuma_down_and_up(runtime: Any, graph: FakeGraph) -> None:
    down = post(runtime, "uptime", payload("uptime-kuma.down"))
    assert down.status_code == 202, down.get_body()
    message = mail(graph)
    assert message["subject"] == "[Uptime] Webshop checkout is down"
    assert message["importance"] == "high", "status 0 is firing and critical"
    html = message["body"]["content"]
    for shown in ("Request failed with status code 503", "Shop / Webshop checkout", "2026-11-30 03:58:03", "prod"):
        assert shown in html
    assert 'href="https://shop.contoso.com/api/health"' in html
    up = post(runtime, "uptime", payload("uptime-kuma.up"))
    assert up.status_code == 202
    assert mail(graph)["subject"] == "[Uptime] Webshop checkout is up"
    assert [s.message["internetMessageHeaders"][1]["value"] for s in graph.sent] == ["firing", "resolved"]


def test_a_datadog_alert_with_paths_and_a_template(runtime: Any, graph: FakeGraph) -> None:
    assert post(runtime, "datadog", payload("datadog.triggered")).status_code == 202
    message = mail(graph)
    assert message["subject"] == "[Triggered on {host:web-7}] Checkout p99 latency above 2 s"
    html = message["body"]["content"]
    assert "%%%" not in html and "p99 latency of checkout is 2.41 s on web-7." in html
    assert "env:prod,service:checkout" in html and "Contoso" in html
    recovered = {**payload("datadog.triggered"), "id": "7311598125432190001", "alert_transition": "Recovered"}
    recovered["alert_type"] = "success"
    assert post(runtime, "datadog", recovered).status_code == 202
    assert graph.sent[-1].message["internetMessageHeaders"][1]["value"] == "resolved"


def test_when_mails_only_the_payloads_it_is_true_for(runtime: Any, graph: FakeGraph) -> None:
    completed = payload("jenkins.completed")
    started = {**completed, "build": {**completed["build"], "phase": "STARTED", "status": None}}
    skipped = post(runtime, "jenkins", started)
    assert (skipped.status_code, response_json(skipped)["status"]) == (202, "ignored")
    assert "'when'" in response_json(skipped)["reason"]
    green = {**completed, "build": {**completed["build"], "status": "SUCCESS"}}
    assert response_json(post(runtime, "jenkins", green))["status"] == "ignored"
    assert post(runtime, "jenkins", completed).status_code == 202
    message = mail(graph)
    assert message["subject"] == "webshop #4711 failure"
    assert "9fceb02d0ae598e95dc970b74767f19372d61af8" in message["body"]["content"]
    assert len(graph.sent) == 1


def test_the_dedup_key_or_else_the_body_makes_repeats_duplicates(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    bare = {"to": "oncall@contoso.com", "mapping": {"title": "title"}}
    runtime = mi_runtime(MAIL_ROUTES=json.dumps({**ROUTES, "bare": bare}))
    document = payload("datadog.triggered")
    statuses = [response_json(post(runtime, "datadog", document))["status"] for _ in range(2)]
    # Another body, the same Datadog event id: the same notification.
    statuses.append(response_json(post(runtime, "datadog", {**document, "date": "1796007499000"}))["status"])
    assert statuses == ["accepted", "duplicate", "duplicate"]
    unkeyed = [response_json(post(runtime, "bare", document))["status"] for _ in range(2)]
    unkeyed.append(response_json(post(runtime, "bare", {**document, "date": "1796007499000"}))["status"])
    assert unkeyed == ["accepted", "duplicate", "accepted"], "without dedupKey, the same body is the repeat"
    assert len(graph.sent) == 3


def test_words_for_status_and_severity() -> None:
    from shared.sources.base import HookRequest
    from shared.sources.generic import to_notification
    from shared.sources.notification import Notification, Severity, Status

    route = load_settings(
        {
            "MAIL_SENDER": SENDER,
            "MAIL_ROUTES": json.dumps({"r": {"mapping": {"title": "t", "status": "s", "severity": "v"}}}),
        }
    ).routes["r"]

    def read(status: Any, severity: Any) -> Notification:
        document = {"t": "x", "s": status, "v": severity}
        outcome = to_notification(HookRequest("generic", document, {}, b"{}", route=route, route_name="r"))
        assert isinstance(outcome, Notification)
        return outcome

    assert [read(word, None).status for word in ("DOWN", "Triggered", "problem", " alerting ")] == [Status.FIRING] * 4
    assert [read(word, None).status for word in ("UP", "ok", "Recovered", "success")] == [Status.RESOLVED] * 4
    unknown = read("flapping", "P2")
    assert (unknown.status, unknown.severity, unknown.facts) == (Status.INFO, Severity.ERROR, [("Status", "flapping")])
    assert read(None, None).status is Status.INFO, "unmapped or missing: nothing says a problem is happening"
    assert [read("firing", word).severity for word in ("crit", "Sev2", 7)] == [
        Severity.CRITICAL,
        Severity.WARNING,
        Severity.UNKNOWN,
    ]


# --- what the payload lacks, what the route lacks ---------------------------------------------------


def test_a_payload_without_the_title_or_a_required_value_is_refused_naming_it(runtime: Any, graph: FakeGraph) -> None:
    no_title = post(runtime, "datadog", {**payload("datadog.triggered"), "title": "  "})
    assert (no_title.status_code, response_json(no_title)["code"]) == (400, "invalid_payload")
    assert response_json(no_title)["errors"][0]["field"] == "title"
    document = payload("datadog.triggered")
    del document["link"]
    no_link = post(runtime, "datadog", document)
    assert (no_link.status_code, response_json(no_link)["errors"][0]["field"]) == (400, "link")
    assert "link" in response_json(no_link)["detail"]
    for route, body in [("datadog", [1, 2]), ("uptime", [1, 2]), ("uptime", {"heartbeat": {"status": 0}})]:
        refused = post(runtime, route, body)
        assert (refused.status_code, response_json(refused)["errors"][0]["field"]) == (400, "title"), route
    lacking = response_json(post(runtime, "uptime", {"heartbeat": {"status": 0}}))
    assert "'monitor' is undefined" in lacking["detail"], "a template names the value it lacks"
    assert graph.requests == []


def test_a_template_that_fails_on_the_payload_is_the_payloads_problem(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    ratio = {
        "to": "oncall@contoso.com",
        "mapping": {"title": "{{ name }}: {{ (100 * failed / total) | round }} % failed"},
    }
    runtime = mi_runtime(MAIL_ROUTES=json.dumps({"ratio": ratio}))
    assert post(runtime, "ratio", {"name": "nightly", "failed": 3, "total": 12}).status_code == 202
    assert mail(graph)["subject"] == "nightly: 25.0 % failed"
    failed = post(runtime, "ratio", {"name": "nightly", "failed": 3, "total": 0})
    assert (failed.status_code, response_json(failed)["errors"][0]["field"]) == (400, "title")
    assert "ZeroDivisionError" in response_json(failed)["detail"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ payload.__class__.__mro__ }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ payload.items.__self__.__class__ }}",
    ],
)
def test_templates_run_in_the_sandbox(template: str, mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    """A route's template reaches no Python internals, whatever it names (Jinja2's sandbox)."""
    runtime = mi_runtime(MAIL_ROUTES=json.dumps({"r": {"to": "oncall@contoso.com", "mapping": {"title": template}}}))
    response = post(runtime, "r", {"name": "x"})
    assert response.status_code == 400, response.get_body()
    answer = response.get_body().decode()
    assert "<class" not in answer and "built-in" not in answer and "function" not in answer, answer
    assert graph.requests == []


def test_a_route_without_mapping_reads_no_generic_payload(runtime: Any, graph: FakeGraph) -> None:
    response = post(runtime, None, {"title": "x"})
    assert (response.status_code, response_json(response)["code"]) == (404, "route_without_mapping")
    assert response_json(response)["errors"] == [
        {"field": "MAIL_ROUTES", "message": "route 'default'.mapping: required for /api/hooks/generic"}
    ]
    slack = handle_hook(hook_request("slack", {"text": "Backup failed"}, route="uptime"), runtime)
    assert slack.status_code == 202, "other sources do not need a mapping"


def test_the_bearer_token_is_required_when_set(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_ROUTES=json.dumps(ROUTES), HOOK_BEARER_TOKEN=TOKEN)
    assert post(runtime, "uptime", payload("uptime-kuma.down")).status_code == 401
    assert post(runtime, "uptime", payload("uptime-kuma.down"), Authorization=f"Bearer {TOKEN}").status_code == 202


# --- the mapping setting ------------------------------------------------------------------------------


def route_problems(mapping: Any) -> list[str]:
    routes = {"good": {"to": "oncall@contoso.com"}, "bad": {"to": "oncall@contoso.com", "mapping": mapping}}
    settings = load_settings({"MAIL_SENDER": SENDER, "MAIL_ROUTES": json.dumps(routes)})
    assert "good" in settings.routes, "a bad mapping makes only its own route unusable"
    return [problem.message for problem in settings.route_problems.of("bad")]


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        ({"summary": "msg"}, "route 'bad'.mapping.title: Field required"),
        ({"title": "{{ monitor.name "}, "route 'bad'.mapping.title: template syntax error on line 1: unexpected end"),
        ({"title": "t", "summary": "{% if x %}open"}, "route 'bad'.mapping.summary: template syntax error on line 1"),
        ({"title": "monitor..name"}, "route 'bad'.mapping.title: 'monitor..name' is neither a field path"),
        ({"title": "monitor name"}, "route 'bad'.mapping.title: 'monitor name' is neither a field path"),
        ({"title": ""}, "route 'bad'.mapping.title: String should have at least 1 character"),
        ({"title": 7}, "route 'bad'.mapping.title: Input should be a valid string"),
        ({"title": "t", "colour": "red"}, "route 'bad'.mapping.colour: unknown route setting"),
        ({"title": "t", "statusValues": {"0": "down"}}, "route 'bad'.mapping.statusValues.0: Input should be 'firing'"),
        ({"title": "t", "required": ["summary"]}, "route 'bad'.mapping: required lists summary, which the mapping"),
        ({"title": "t", "facts": {"Host": "{{ host }"}}, "route 'bad'.mapping.facts.Host: template syntax error"),
        ("title", "route 'bad'.mapping: Input should be a valid dictionary"),
    ],
)
def test_a_bad_mapping_is_a_problem_of_its_route(mapping: Any, problem: str) -> None:
    problems = route_problems(mapping)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_a_bad_mapping_answers_route_invalid_on_its_route_only(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    routes = {**ROUTES, "broken": {"to": "oncall@contoso.com", "mapping": {"title": "{{ oops"}}}
    runtime = mi_runtime(MAIL_ROUTES=json.dumps(routes))
    broken = post(runtime, "broken", payload("uptime-kuma.down"))
    assert (broken.status_code, response_json(broken)["code"]) == (503, "route_invalid")
    assert "mapping.title: template syntax error" in response_json(broken)["errors"][0]["message"]
    assert post(runtime, "uptime", payload("uptime-kuma.down")).status_code == 202


def test_every_documented_mapping_key_is_read() -> None:
    mapping = Mapping.model_validate({**DATADOG["mapping"], "when": "{{ true }}"})  # type: ignore[dict-item]
    assert (mapping.title, mapping.dedup_key, mapping.required, mapping.when) == (
        "title",
        "id",
        ["status", "link"],
        "{{ true }}",
    )
    assert list(mapping.facts) == ["Host", "Tags", "Organization"], "facts keep their order"
