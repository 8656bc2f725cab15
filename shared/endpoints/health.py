"""GET /api/health: how the bridge is configured, and which setting is wrong if one is.

It is anonymous, so it tells no secret and nothing that helps an attacker aim: not the sender
mailboxes, not the allow-lists, not the credentials — only the transport, auth mode and cloud.
The answer is the Health model below, which is also its schema in the OpenAPI document.
"""

from __future__ import annotations

from typing import Literal

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from shared.endpoints._respond import responding
from shared.problems import PROBLEM_CONTENT_TYPE, Problem, json_response
from shared.runtime import Runtime, current_runtime
from shared.settings.delivery import DeliveryMode
from shared.settings.graph import CLOUDS, AuthMode

NO_STORE = {"Cache-Control": "no-store"}


class _Report(BaseModel):
    # Open to new fields (no extra="forbid"): the published schema must not refuse a later answer.
    model_config = ConfigDict(frozen=True, validate_by_name=True, serialize_by_alias=True)


class RecipientBudget(_Report):
    """The daily recipient budget, per instance; no mailbox is named, this endpoint being anonymous."""

    per_mailbox_per_day: int = Field(alias="perMailboxPerDay")
    highest_use_last_24h: int = Field(alias="highestUseLast24h")


class Health(_Report):
    """The transport, auth mode and cloud in use; never a secret, mailbox or allow-list."""

    health: Literal["ok"]
    transport: str
    auth: AuthMode
    cloud: str = Field(json_schema_extra={"enum": list(CLOUDS)})
    delivery: DeliveryMode
    recipient_budget: RecipientBudget = Field(alias="recipientBudget")


@responding
def handle_health(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    try:
        runtime = runtime or current_runtime()
    except Problem as problem:
        document = problem.to_document(request_id=None)
        document["health"] = "misconfigured"
        return json_response(document, problem.status, mimetype=PROBLEM_CONTENT_TYPE, headers=NO_STORE)
    settings = runtime.settings
    report = Health(
        health="ok",
        transport=runtime.transport.name,
        auth=settings.credentials.auth_mode,
        cloud=settings.graph.cloud.name,
        delivery=settings.delivery.mode,
        recipient_budget=RecipientBudget(
            per_mailbox_per_day=settings.limits.daily_recipient_budget,
            highest_use_last_24h=runtime.recipient_budget.highest_use(),
        ),
    )
    return json_response(report.model_dump(mode="json"), 200, headers=NO_STORE)
