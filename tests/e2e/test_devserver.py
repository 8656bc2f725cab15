"""scripts/devserver.py as a user runs it: a subprocess on a real port, driven over HTTP."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import requests

from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import reference_example
from tests.helpers.devserver import devserver, write_settings


def test_first_run_with_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = write_settings(
        tmp_path / "local.settings.json",
        {"MAIL_TRANSPORT": "outbox", "MAIL_OUTBOX_DIR": str(outbox), "MAIL_SENDER": "from-file@contoso.com"},
    )
    # The real environment wins over local.settings.json, as with Core Tools.
    with devserver(settings, {"MAIL_SENDER": "from-env@contoso.com"}) as base_url:
        response = requests.post(
            f"{base_url}/api/mail",
            data=reference_example(1),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        request_id = response.json()["requestId"]
        assert response.headers["X-Request-Id"] == request_id

        health = requests.get(f"{base_url}/api/health", timeout=5)
        assert (health.status_code, health.json()["transport"]) == (200, "outbox")
        assert requests.get(f"{base_url}/api/mail", timeout=5).status_code == 405
        assert requests.post(f"{base_url}/api/nothing-here", timeout=5).status_code == 404
        problem = requests.post(f"{base_url}/api/mail", data="x", headers={"Content-Type": "text/csv"}, timeout=5)
        assert (problem.status_code, problem.headers["Content-Type"]) == (
            415,
            "application/problem+json; charset=utf-8",
        )

        chunked = requests.post(
            f"{base_url}/api/mail",
            data=iter([b'{"to": "ops@contoso.com", ', b'"subject": "chunked"}']),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert chunked.status_code == 202, chunked.text

    [eml] = outbox.glob(f"*-{request_id}.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["From"] == "from-env@contoso.com"
    assert message["To"] == "fannyd@contoso.onmicrosoft.com"
    assert message["Cc"] == "danas@contoso.onmicrosoft.com"
    assert message["Subject"] == "Meet for lunch?"
    assert json.loads(eml.with_suffix(".json").read_text())["saveToSentItems"] is False


def test_graph_transport_with_managed_identity(tmp_path: Path) -> None:
    settings = write_settings(tmp_path / "local.settings.json", {"MAIL_SENDER": "bridge@contoso.com"})
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        environment = {"GRAPH_BASE_URL": graph.base_url, **identity.environment}
        with devserver(settings, environment) as base_url:
            for number in (1, 2):
                response = requests.post(
                    f"{base_url}/api/mail",
                    data=reference_example(number),
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                assert response.status_code == 202, response.text
        assert [request.mailbox for request in graph.sent] == ["bridge@contoso.com"] * 2
        assert len(identity.token_requests) == 1
