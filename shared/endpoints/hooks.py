"""POST /api/hooks/{source}: source (verify, read) → route → compose → policy → delivery.

After the message is composed, it takes the same path as /api/mail: the same policy, token and
transport. Recipients come from the route only; a webhook caller can never choose them.
"""

from __future__ import annotations

import azure.functions as func

from shared.delivery.dispatch import header_key
from shared.delivery.limits import caller_of
from shared.endpoints._respond import responding
from shared.intake import parse_hook_body, read_body
from shared.logs import get_logger
from shared.mail.compose import compose, route_verdict
from shared.problems import Problem, json_response
from shared.runtime import Runtime, current_runtime
from shared.settings.routes import DEFAULT_ROUTE
from shared.sources import SOURCES, adapter_for
from shared.sources.base import HookRequest, Skip
from shared.sources.caller_auth import verify_caller

log = get_logger(__name__)


class UnknownSource(Problem):
    status = 404
    code = "unknown_source"
    title = "No such webhook source"


class UnknownRoute(Problem):
    status = 404
    code = "unknown_route"
    title = "No such route"


@responding
def handle_hook(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    source = req.route_params.get("source", "")
    adapter = adapter_for(source)
    if adapter is None:
        raise UnknownSource(f"'{source[:40]}' is not a webhook source; use one of: {', '.join(SOURCES)}.")
    runtime = runtime or current_runtime()
    runtime.rate_limiter.take(caller_of(req.headers, req.params))
    body = read_body(req)
    # Before the route lookup, so a caller without credentials cannot probe route names.
    verify_caller(source, req.headers, body, runtime.settings.hook_auth, runtime.entra_webhook_verifier)
    route_name = req.params.get("route") or DEFAULT_ROUTE
    route = runtime.settings.routes.get(route_name)
    if route is None:
        raise UnknownRoute(f"No route named '{route_name[:64]}' in MAIL_ROUTES.")
    payload = parse_hook_body(req.headers.get("Content-Type", ""), body)
    outcome = adapter(HookRequest(source=source, payload=payload, headers=req.headers, wanted_events=route.events))
    if not isinstance(outcome, Skip):
        outcome = route_verdict(outcome, route, route_name) or outcome
    if isinstance(outcome, Skip):
        log.info("%s delivery not mailed: %s", source, outcome.reason)
        return json_response(
            {"status": outcome.status, "reason": outcome.reason, "requestId": request_id},
            outcome.http_status,
            request_id,
        )
    mail = runtime.policy.approve(compose(outcome, route, route_name, runtime.renderer))
    # A key names one notification on one route: the same alert routed twice is two mails.
    key = header_key(req.headers.get("Idempotency-Key")) or outcome.dedup_key
    ttl_s = runtime.settings.delivery.idempotency_ttl_s
    if outcome.repeats and key == outcome.dedup_key:
        ttl_s = runtime.settings.delivery.repeating_dedup_ttl_s
    dispatched = runtime.dispatcher.dispatch(
        mail, request_id, key=f"hooks/{source}/{route_name}:{key}" if key else None, ttl_s=ttl_s
    )
    log.info(
        "accepted %s %s on route %s: %d recipient(s) via %s",
        source, outcome.status, route_name, len(mail.request.message.recipients()), runtime.transport.name,
    )  # fmt: skip
    return json_response({"status": dispatched.status, "requestId": dispatched.request_id}, 202, request_id)
