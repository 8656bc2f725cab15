"""A bug in any handler answers 500 problem+json with the request id, and logs its stack trace.

The failure is injected (a step of each handler replaced by one that raises), since no real input
should reach one; tests/test_properties.py looks for real ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func
import pytest

from shared.endpoints import health, hooks, mail, openapi
from tests.conftest import RuntimeFactory
from tests.helpers.app import hook_request, mail_request, response_json


class Bug(Exception):
    pass


def explode(*_: Any, **__: Any) -> Any:
    raise Bug("an injected bug, with a secret-looking value that must stay in the log only")


def get_request(route: str) -> func.HttpRequest:
    return func.HttpRequest(method="GET", url=f"http://localhost:7071/api/{route}", headers={}, params={}, body=b"")


CASES: list[tuple[str, Any, str, Callable[[], func.HttpRequest]]] = [
    ("mail", mail, "parse_mail_request", lambda: mail_request({"to": "a@contoso.com", "subject": "s", "text": "t"})),
    ("hooks", hooks, "compose", lambda: hook_request("slack", {"text": "hello"})),
    ("health", health, "Health", lambda: get_request("health")),
    ("openapi", openapi, "openapi_json", lambda: get_request("openapi.json")),
]


@pytest.mark.parametrize(("name", "module", "step", "request_of"), CASES, ids=[case[0] for case in CASES])
def test_a_bug_is_a_500_problem_with_the_request_id(
    name: str,
    module: Any,
    step: str,
    request_of: Callable[[], func.HttpRequest],
    mi_runtime: RuntimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(module, step, explode)
    handler = {"mail": mail.handle_mail, "hooks": hooks.handle_hook, "health": health.handle_health}.get(name)
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    with caplog.at_level(logging.ERROR):
        response = handler(request_of(), runtime) if handler else openapi.handle_openapi(request_of())
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    document = response_json(response)
    assert document["code"] == "internal_error"
    assert document["type"] == "urn:mailhook:problem:internal_error"
    assert document["requestId"] == response.headers["X-Request-Id"]
    assert "secret-looking" not in response.get_body().decode()
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None and record.exc_info[0] is Bug
    assert document["requestId"] in record.getMessage()
