"""GET /api/health: how the bridge is configured, and which setting is wrong if one is.

It is anonymous, so it tells no secret and nothing that helps an attacker aim: not the sender
mailboxes, not the allow-lists, not the credentials — only the transport, auth mode and cloud.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from .problems import Problem
from .runtime import Runtime, current_runtime


def handle_health(req: func.HttpRequest, runtime: Runtime | None = None) -> func.HttpResponse:
    try:
        runtime = runtime or current_runtime()
    except Problem as problem:
        document = problem.to_document(request_id=None)
        document["health"] = "misconfigured"
        return _json(document, problem.status, mimetype="application/problem+json")
    settings = runtime.settings
    report: dict[str, Any] = {
        "health": "ok",
        "transport": runtime.transport.name,
        "auth": settings.auth_mode.value,
        "cloud": settings.cloud.name,
        "delivery": settings.delivery.value,
        # Per instance; no mailbox is named, this endpoint being anonymous.
        "recipientBudget": {
            "perMailboxPerDay": settings.daily_recipient_budget,
            "highestUseLast24h": runtime.recipient_budget.highest_use(),
        },
    }
    return _json(report, 200)


def _json(document: dict[str, Any], status: int, *, mimetype: str = "application/json") -> func.HttpResponse:
    return func.HttpResponse(
        body=json.dumps(document),
        status_code=status,
        mimetype=mimetype,
        headers={"Cache-Control": "no-store"},
        charset="utf-8",
    )
