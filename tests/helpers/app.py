"""Plain helpers shared by the tests: settings from a dict and real func.HttpRequest objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import azure.functions as func

from shared.settings import Settings, load_settings

DATA = Path(__file__).parents[1] / "data"
# Every environment variable the bridge (or MSAL for it) reads starts with one of these.
_SETTING_PREFIXES = (
    "MAIL_",
    "GRAPH_",
    "AZURE_",
    "IDENTITY_",
    "HOOK_",
    "GITHUB_",
    "GRAFANA_",
    "PAGERDUTY_",
    "SENTRY_",
    "AzureWebJobsStorage",
)


def is_app_setting(name: str) -> bool:
    """Whether a developer's own environment variable would change how the bridge under test behaves."""
    return name.startswith(_SETTING_PREFIXES)


SENDER = "bridge@contoso.com"


def settings_from(**values: str) -> Settings:
    """Settings as the app reads them, from environment-style strings (MAIL_SENDER preset).

    The per-caller rate limit and the mailbox's pace are as good as off unless a test sets them:
    most tests send faster than any sensible limit on purpose; tests/delivery/test_limits.py and
    tests/delivery/mailbox test the limits themselves.
    """
    as_good_as_off = {"MAIL_RATE_LIMIT_PER_MINUTE": "0", "MAIL_MAILBOX_MESSAGES_PER_MINUTE": "10000"}
    return load_settings({"MAIL_SENDER": SENDER, **as_good_as_off, **values})


def reference_example(number: int) -> str:
    """A request body from the sendMail reference page, byte for byte as printed there."""
    return (DATA / f"reference-example-{number}.json").read_text()


def mail_request(
    body: Any,
    *,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
    route: str = "mail",
) -> func.HttpRequest:
    """A real func.HttpRequest as the Functions host builds it; str/bytes bodies are sent as is."""
    if isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    all_headers = {"Content-Type": content_type, "Content-Length": str(len(raw)), **(headers or {})}
    return func.HttpRequest(
        method="POST", url=f"http://localhost:7071/api/{route}", headers=all_headers, params={}, body=raw
    )


def response_json(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def hook_request(
    source: str,
    body: Any,
    *,
    route: str | None = None,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    """A real func.HttpRequest for POST /api/hooks/{source}[?route=...]."""
    raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    params = {"route": route} if route else {}
    query = f"?route={route}" if route else ""
    return func.HttpRequest(
        method="POST",
        url=f"http://localhost:7071/api/hooks/{source}{query}",
        headers={"Content-Type": content_type, "Content-Length": str(len(raw)), **(headers or {})},
        params=params,
        route_params={"source": source},
        body=raw,
    )
