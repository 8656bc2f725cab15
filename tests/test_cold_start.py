"""What a cold process imports: the guard on bench/results.md's "Cold start" figures that is not a timing.

The worker imports function_app on every new instance before it answers anything, then the first
request imports its handler. Each test runs a fresh interpreter, as the worker is, and lists the
modules it holds afterwards: a heavy module that comes back onto these paths shows here, whatever
the machine's load, long before it shows in `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import SENDER, is_app_setting
from tests.helpers.devserver import ROOT

# Packages the webhook path, queue mode, storage or other routes need, and /api/mail does not.
_WEBHOOK_ONLY = (
    "jinja2",  # templates: rendered on the first webhook (markupsafe is werkzeug's, so azure.functions')
    "shared.mail.rendering",
    "shared.mail.compose",
    "shared.sources.base",  # the sources and their Notification model: the first hook imports them
    "shared.sources.notification",
    "shared.sources.alertmanager",
    "shared.settings.routes",  # the Route models: read at start, built on the first hook or health
    "shared.settings.mapping",
)
_ELSEWHERE_ONLY = (
    "shared.endpoints.openapi",  # builds every model's JSON Schema
    "shared.endpoints.health",
    "shared.endpoints.hooks",
    "shared.delivery.transports.outbox",  # the email package's policies; local runs only
    "shared.delivery.transports.queue",
    "shared.delivery.transports.graph_drafts",  # messages sendMail cannot carry, or MAIL_SEND_METHOD=draft
    "shared.mail.html_sanitizer",  # nh3: the first HTML body sent to /api/mail
    "nh3",
    "jwt",  # Azure Monitor's Entra token check
    "cryptography",
    "azure.storage",  # storage clients: only with AzureWebJobsStorage
    "azure.data",
    "azure.core",
)


def last_line_after(script: str, report: str, **settings: str) -> str:
    """What ``report`` prints last, run after ``script`` in a fresh interpreter with these app settings only."""
    environ = {name: value for name, value in os.environ.items() if not is_app_setting(name)}
    result = subprocess.run(
        [sys.executable, "-c", f"{script}\n{report}"],
        env={**environ, **settings},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()[-1]


def modules_after(script: str, **settings: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``script``, with these app settings only."""
    return set(
        json.loads(last_line_after(script, "import json, sys\nprint(json.dumps(sorted(sys.modules)))", **settings))
    )


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_indexing_imports_azure_functions_and_nothing_of_ours_that_validates_or_sends() -> None:
    modules = modules_after("import function_app")
    assert "azure.functions" in modules
    assert not loaded(modules, ("pydantic", "msal", "requests", "jinja2", "shared")), (
        "function_app imports a handler's dependencies at indexing: keep them inside the functions"
    )


_FIRST_MAIL = """
import azure.functions as func
import function_app
body = b'{"to": "oncall@contoso.com", "subject": "Disk full", "text": "db-1: 98%"}'
request = func.HttpRequest(
    method="POST", url="http://localhost/api/mail", body=body, headers={"Content-Type": "application/json"}
)
response = function_app.mail.build().get_user_function()(request)
assert response.status_code == 202, response.get_body()
"""


def test_the_first_mail_imports_nothing_only_webhooks_or_other_routes_need() -> None:
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        modules = modules_after(
            _FIRST_MAIL,
            MAIL_SENDER=SENDER,
            GRAPH_BASE_URL=graph.base_url,
            MAIL_ROUTES=json.dumps({"default": {"to": "oncall@contoso.com"}}),
            **identity.environment,
        )
        assert len(graph.sent) == 1, "the first mail went to Graph with a managed-identity token"
    assert {"pydantic", "msal", "requests", "shared.mail.simple", "shared.delivery.transports.graph"} <= modules
    assert loaded(modules, _WEBHOOK_ONLY + _ELSEWHERE_ONLY) == []


def test_the_first_hook_still_finds_what_it_needs() -> None:
    # The other side of the laziness: the webhook path imports its pieces on first use and sends.
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        script = (
            "import azure.functions as func, function_app\n"
            "body = open('tests/data/alertmanager/firing-single.json', 'rb').read()\n"
            "request = func.HttpRequest(method='POST', url='http://localhost/api/hooks/alertmanager', body=body,\n"
            "    headers={'Content-Type': 'application/json'}, route_params={'source': 'alertmanager'})\n"
            "response = function_app.hooks.build().get_user_function()(request)\n"
            "assert response.status_code == 202, response.get_body()\n"
        )
        modules = modules_after(
            script,
            MAIL_SENDER=SENDER,
            GRAPH_BASE_URL=graph.base_url,
            MAIL_ROUTES=json.dumps({"default": {"to": "oncall@contoso.com"}}),
            **identity.environment,
        )
        assert len(graph.sent) == 1
    assert {"jinja2", "shared.mail.rendering", "shared.sources.alertmanager", "shared.settings.routes"} <= modules


def _collector_state(script: str, **settings: str) -> dict[str, int]:
    """After ``script`` in a fresh interpreter: whether the cyclic collector runs, and what it no longer sees."""
    report = "import gc, json\nprint(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count()}))"
    return dict(json.loads(last_line_after(script, report, **settings)))


def test_the_collector_is_paused_for_startup_and_runs_again_after_the_first_answer() -> None:
    # Indexing: paused (function_app.py says why), nothing frozen yet.
    assert _collector_state("import function_app") == {"enabled": False, "frozen": 0}
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        after_first_mail = _collector_state(
            _FIRST_MAIL,
            MAIL_SENDER=SENDER,
            GRAPH_BASE_URL=graph.base_url,
            **identity.environment,
        )
    # Running again, with startup's objects (modules, models, the MSAL client) out of its sight.
    assert after_first_mail["enabled"] is True
    assert after_first_mail["frozen"] > 10_000


def test_a_first_invocation_that_fails_still_ends_startup() -> None:
    # No MAIL_SENDER: the first request is refused (a problem answer), and the collector runs again all the same.
    state = _collector_state(
        "import azure.functions as func, function_app\n"
        "request = func.HttpRequest(method='POST', url='http://localhost/api/mail', body=b'not json',\n"
        "    headers={'Content-Type': 'application/json'})\n"
        "response = function_app.mail.build().get_user_function()(request)\n"
        "assert response.status_code >= 400, response.get_body()\n"
    )
    assert state["enabled"] is True
