"""GET /api/health: how the bridge is configured, and which setting is wrong if one is.

It is anonymous, so it tells no secret and nothing that helps an attacker aim: not the sender
mailboxes, not the allow-lists, not the credentials — only the transport, auth mode and cloud.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func

from shared.endpoints._respond import responding
from shared.problems import PROBLEM_CONTENT_TYPE, Problem, json_response
from shared.runtime import Runtime, current_runtime

NO_STORE = {"Cache-Control": "no-store"}


@responding
def handle_health(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    try:
        runtime = runtime or current_runtime()
    except Problem as problem:
        document = problem.to_document(request_id=None)
        document["health"] = "misconfigured"
        return json_response(document, problem.status, mimetype=PROBLEM_CONTENT_TYPE, headers=NO_STORE)
    settings = runtime.settings
    report: dict[str, Any] = {
        "health": "ok",
        "transport": runtime.transport.name,
        "auth": settings.credentials.auth_mode.value,
        "cloud": settings.graph.cloud.name,
        "delivery": settings.delivery.mode.value,
        # Per instance; no mailbox is named, this endpoint being anonymous.
        "recipientBudget": {
            "perMailboxPerDay": settings.limits.daily_recipient_budget,
            "highestUseLast24h": runtime.recipient_budget.highest_use(),
        },
    }
    return json_response(report, 200, headers=NO_STORE)
