"""A bad route makes only itself unusable: its hooks answer 503 naming the problem, all else keeps working."""

from __future__ import annotations

import json

from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import hook_request, mail_request, response_json

SLACK = {"text": "Disk almost full on db-1"}
ROUTES = {
    "good": {"to": "team@contoso.com"},
    "outside": {"to": "someone@evil.example"},
    "typo": {"too": "team@contoso.com"},
}


def test_a_bad_route_answers_503_and_the_rest_still_sends(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_ROUTES=json.dumps(ROUTES), MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com")
    for route, message in (
        ("outside", "route 'outside': someone@evil.example is outside MAIL_ALLOWED_RECIPIENT_DOMAINS"),
        ("typo", "route 'typo'.too: unknown route setting"),
    ):
        response = handle_hook(hook_request("slack", SLACK, route=route), runtime)
        document = response_json(response)
        assert (response.status_code, document["code"]) == (503, "route_invalid")
        assert document["errors"] == [{"field": "MAIL_ROUTES", "message": message}]
    assert graph.sent == []

    assert handle_hook(hook_request("slack", SLACK, route="good"), runtime).status_code == 202
    mail = {"to": "lead@contoso.com", "subject": "still works", "text": "yes"}
    assert handle_mail(mail_request(mail), runtime).status_code == 202
    assert response_json(handle_hook(hook_request("slack", SLACK, route="nope"), runtime))["code"] == "unknown_route"
    assert len(graph.sent) == 2


def test_unreadable_routes_stop_every_hook_but_not_the_mail_route(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_ROUTES="{not json", MAIL_DEFAULT_TO="oncall@contoso.com")
    for route in (None, "good"):
        response = handle_hook(hook_request("slack", SLACK, route=route), runtime)
        assert (response.status_code, response_json(response)["code"]) == (503, "route_invalid")
    mail = {"to": "lead@contoso.com", "subject": "still works", "text": "yes"}
    assert handle_mail(mail_request(mail), runtime).status_code == 202
    assert len(graph.sent) == 1
