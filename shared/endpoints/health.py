"""GET /api/health: how the bridge is configured, and which setting is wrong if one is.

It is anonymous, so it tells no secret and nothing that helps an attacker aim: not the sender
mailboxes, not the allow-lists, not the credentials — only the transport, auth mode and cloud, and
warnings by code and setting name. Misconfigured, it names the settings to fix and says why only in
fixed words that hold no value (an unresolved Key Vault reference, a blank secret); a setting's own
problem can quote what it holds (an address outside the allow-list, a path), so that is told only
to callers with a function key: GET /api/status (and /api/mail, /api/hooks) answer 503
``configuration_invalid`` with every setting's problem. The answer is the Health model below, also
its schema in the OpenAPI document.
"""

from __future__ import annotations

import threading
import time
from typing import Literal

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from shared.delivery.mailbox import MailboxLimitsUnavailable
from shared.endpoints._respond import responding
from shared.problems import PROBLEM_CONTENT_TYPE, Problem, json_response
from shared.runtime import Runtime, current_runtime
from shared.settings import Settings
from shared.settings.delivery import DeliveryMode
from shared.settings.graph import CLOUDS, AuthMode
from shared.settings.reader import VALUE_FREE_MESSAGES

NO_STORE = {"Cache-Control": "no-store"}


class _Report(BaseModel):
    # Open to new fields (no extra="forbid"): the published schema must not refuse a later answer.
    model_config = ConfigDict(frozen=True, validate_by_name=True, serialize_by_alias=True)


class MailboxLimitsReport(_Report):
    """The sender mailboxes' limits and digests; no mailbox is named, this endpoint being anonymous."""

    # "table": shared by every instance (Table storage); "memory": this process only (no storage).
    store: Literal["table", "memory"]
    per_mailbox_per_day: int = Field(alias="perMailboxPerDay")
    digest_reserve: int = Field(alias="digestReserve")
    messages_per_minute: int = Field(alias="messagesPerMinute")
    # None when the store cannot be read right now.
    highest_use_last_24h: int | None = Field(alias="highestUseLast24h")
    sends_in_flight: int | None = Field(alias="sendsInFlight")
    # Counted up to HELD_COUNT_BOUND: past it (heldNotificationsAtLeast), at least that many are held.
    held_notifications: int | None = Field(alias="heldNotifications")
    held_notifications_at_least: bool = Field(False, alias="heldNotificationsAtLeast")
    last_digest_at: float | None = Field(None, alias="lastDigestAt")


class HealthWarning(_Report):
    """Configured, and working, but weaker than it should be; said by code and setting name."""

    code: str
    setting: str
    message: str  # fixed words, never a configured value


class Health(_Report):
    """The transport, auth mode and cloud in use; never a secret, mailbox or allow-list."""

    health: Literal["ok"]
    transport: str
    auth: AuthMode
    cloud: str = Field(json_schema_extra={"enum": list(CLOUDS)})
    delivery: DeliveryMode
    mailbox_limits: MailboxLimitsReport = Field(alias="mailboxLimits")
    warnings: list[HealthWarning] = []


# Anyone can call this endpoint, as often as they like: what it reads from storage is bounded (one
# query of at most this many row keys for the held notifications, one row per sender mailbox for the
# limits) and kept for a few seconds per process, so a flood of calls costs storage next to nothing
# and cannot compete with the mail path for the account's throughput. GET /api/status (function key)
# counts every mailbox's held notifications in full.
HELD_COUNT_BOUND = 100
STORAGE_FIGURES_MAX_AGE_S = 2.0
_figures_lock = threading.Lock()
_figures: tuple[Runtime, float, MailboxLimitsReport] | None = None  # the runtime, when read (monotonic), what

ONLY_WITH_A_FUNCTION_KEY = "invalid; GET /api/status with a function key says what is wrong with it"


@responding
def handle_health(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    try:
        runtime = runtime or current_runtime()
    except Problem as problem:
        document = problem.to_document(request_id=None)
        if "errors" in document:
            document["errors"] = [
                {
                    **error,
                    "message": error["message"]
                    if error["message"] in VALUE_FREE_MESSAGES
                    else ONLY_WITH_A_FUNCTION_KEY,
                }
                for error in document["errors"]
            ]
        document["health"] = "misconfigured"
        return json_response(document, problem.status, mimetype=PROBLEM_CONTENT_TYPE, headers=NO_STORE)
    settings = runtime.settings
    report = Health(
        health="ok",
        transport=runtime.transport.name,
        auth=settings.credentials.auth_mode,
        cloud=settings.graph.cloud.name,
        delivery=settings.delivery.mode,
        mailbox_limits=_mailbox_report(runtime),
        warnings=warnings_of(settings),
    )
    return json_response(report.model_dump(mode="json"), 200, headers=NO_STORE)


def _mailbox_report(runtime: Runtime) -> MailboxLimitsReport:
    """The limits' figures, read from storage at most once per STORAGE_FIGURES_MAX_AGE_S in this process."""
    global _figures
    if runtime.mailbox_limits.kind != "table":
        return _read_mailbox_report(runtime)  # this process's own figures: nothing to spare
    with _figures_lock:
        now = time.monotonic()
        if _figures is None or _figures[0] is not runtime or now - _figures[1] >= STORAGE_FIGURES_MAX_AGE_S:
            # Read under the lock: concurrent calls wait for one reading rather than each make their own.
            _figures = (runtime, now, _read_mailbox_report(runtime))
        return _figures[2]


def _read_mailbox_report(runtime: Runtime) -> MailboxLimitsReport:
    from azure.core.exceptions import AzureError

    limits = runtime.settings.limits
    used = in_flight = held = None
    held_at_least = False
    last_digest_at = None
    try:
        usages = runtime.mailbox_limits.usage()
        used = max((usage.recipients_used for usage in usages), default=0)
        in_flight = sum(usage.in_flight for usage in usages)
        last_digest_at = max((usage.last_digest_at or 0.0 for usage in usages), default=0.0) or None
        held = 0
        if runtime.holding is not None:
            held, held_at_least = runtime.holding.count_up_to(HELD_COUNT_BOUND)
    except (MailboxLimitsUnavailable, AzureError):
        pass  # storage unreachable: reported as unknown, and the mail routes answer 503 meanwhile
    return MailboxLimitsReport(
        store=runtime.mailbox_limits.kind,
        per_mailbox_per_day=limits.daily_recipient_budget,
        digest_reserve=limits.digest_reserve,
        messages_per_minute=limits.mailbox_messages_per_minute,
        highest_use_last_24h=used,
        sends_in_flight=in_flight,
        held_notifications=held,
        held_notifications_at_least=held_at_least,
        last_digest_at=last_digest_at,
    )


def warnings_of(settings: Settings) -> list[HealthWarning]:
    warnings = []
    if settings.hook_auth.grafana_secret is not None and settings.hook_auth.grafana_timestamp_header is None:
        # Grafana then signs the body alone: a captured delivery stays valid for ever, and only
        # the dedup window (MAIL_REPEATING_DEDUP_TTL_S) stops its replay.
        warnings.append(
            HealthWarning(
                code="grafana_signature_without_timestamp",
                setting="GRAFANA_WEBHOOK_TIMESTAMP_HEADER",
                message=(
                    "GRAFANA_WEBHOOK_SECRET is set without a timestamp header: a captured Grafana delivery can be "
                    "replayed once its dedup key expires. Name the contact point's timestamp header here."
                ),
            )
        )
    if not settings.policy.default_to and not any(route.recipients() for route in settings.routes.values()):
        # The bridge is healthy, but the first webhook would be answered 503 route_without_recipients.
        warnings.append(
            HealthWarning(
                code="no_recipients",
                setting="MAIL_DEFAULT_TO",
                message=(
                    "No recipient is configured anywhere: set MAIL_DEFAULT_TO, or a route with 'to' in MAIL_ROUTES. "
                    "Until then /api/hooks answers 503 and /api/mail needs recipients in every request."
                ),
            )
        )
    bad_routes = settings.route_problems.all()
    if bad_routes:
        # Route names are the operator's and can hint at what they guard: counted, never named here.
        warnings.append(
            HealthWarning(
                code="route_invalid",
                setting=bad_routes[0].setting,
                message=(
                    f"{len(bad_routes)} problem(s) in the routes: only the routes concerned are unusable. A request "
                    "to /api/hooks with a function key and ?route= names each one."
                ),
            )
        )
    return warnings
