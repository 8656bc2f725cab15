"""POST /api/hooks/{source}: source (verify, read) → route → compose → policy → delivery.

After the message is composed, it takes the same path as /api/mail: the same policy, token and
transport. Recipients come from the route only; a webhook caller can never choose them.
"""

from __future__ import annotations

import azure.functions as func

from shared.delivery.dispatch import header_key
from shared.delivery.limits import caller_of
from shared.endpoints._respond import responding
from shared.endpoints.idempotency_keys import caller_scope, signed_body_key
from shared.intake import parse_hook_body, read_body
from shared.logs import get_logger
from shared.mail.compose import compose, route_verdict
from shared.problems import FieldError, Problem, json_response
from shared.runtime import Runtime, current_runtime
from shared.settings.routes import DEFAULT_ROUTE
from shared.sources import SOURCES
from shared.sources.base import HookRequest, Skip
from shared.sources.notification import Notification

log = get_logger(__name__)


class UnknownSource(Problem):
    status = 404
    code = "unknown_source"
    title = "No such webhook source"


class RouteInvalid(Problem):
    status = 503
    code = "route_invalid"
    title = "The route is misconfigured"


class UnknownRoute(Problem):
    status = 404
    code = "unknown_route"
    title = "No such route"


@responding
def handle_hook(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    name = req.route_params.get("source", "")
    if name not in SOURCES:
        raise UnknownSource(f"'{name[:40]}' is not a webhook source; use one of: {', '.join(SOURCES)}.")
    runtime = runtime or current_runtime()
    source = runtime.sources.get(name)
    runtime.rate_limiter.take(caller_of(req.headers, req.params))
    request = HookRequest(source=name, payload=None, headers=req.headers, body=read_body(req))
    # Before the body is parsed and the route looked up, so a caller without credentials learns
    # nothing from parse errors and cannot probe route names.
    body_signed = source.verify(request)
    route_name = req.params.get("route") or DEFAULT_ROUTE
    route = runtime.settings.routes.get(route_name)
    if route is None and (problems := runtime.settings.route_problems.of(route_name)):
        # A bad route makes only itself unusable: /api/mail and the other routes keep working.
        raise RouteInvalid(
            f"The route '{route_name[:64]}' is misconfigured; nothing was sent. See /api/health.",
            errors=[FieldError(problem.setting, problem.message) for problem in problems],
        )
    if route is None:
        raise UnknownRoute(f"No route named '{route_name[:64]}' in MAIL_ROUTES.")
    request = request.with_route(route, route_name)
    request = request.with_payload(parse_hook_body(req.headers.get("Content-Type", ""), request.body))
    outcome = source.read(request)
    if not isinstance(outcome, Skip):
        outcome = route_verdict(outcome, route, route_name) or outcome
    if isinstance(outcome, Skip):
        log.info("%s delivery not mailed: %s", name, outcome.reason)
        return json_response(
            {"status": outcome.status, "reason": outcome.reason, "requestId": request_id},
            outcome.http_status,
            request_id,
        )
    draft = compose(outcome, route, route_name, runtime.renderer, runtime.settings.message_format)
    mail = runtime.policy.approve(draft)
    key, ttl_s = _idempotency_key(req, runtime, request.body if body_signed else None, outcome)
    # A key names one notification on one route: the same alert routed twice is two mails.
    dispatched = runtime.dispatcher.dispatch(
        mail, request_id, key=f"hooks/{name}/{route_name}/{key}" if key else None, ttl_s=ttl_s
    )
    log.info(
        "%s %s %s on route %s: %d recipient(s) via %s",
        dispatched.status, name, outcome.status, route_name, len(mail.recipient_addresses()),
        runtime.transport.name,
    )  # fmt: skip
    return json_response({"status": dispatched.status, "requestId": dispatched.request_id}, 202, request_id)


def _idempotency_key(
    req: func.HttpRequest, runtime: Runtime, signed_body: bytes | None, notification: Notification
) -> tuple[str | None, int]:
    """The key that makes a repeat of this delivery a duplicate, and how long it holds.

    A body a verified signature covers is its own key, whatever the unsigned headers say: a
    captured delivery replayed with a fresh X-GitHub-Delivery or Idempotency-Key is still that
    delivery. Else the caller's Idempotency-Key (scoped to the caller), else the source's own.
    Keys of senders that repeat an unchanged notification on purpose (Alertmanager's and Grafana's
    repeat_interval) expire sooner, so the reminder is mailed.
    """
    delivery = runtime.settings.delivery
    ttl_s = delivery.repeating_dedup_ttl_s if notification.repeats else delivery.idempotency_ttl_s
    if signed_body is not None:
        return signed_body_key(signed_body), ttl_s
    if (caller_key := header_key(req.headers.get("Idempotency-Key"))) is not None:
        return f"{caller_scope(req.headers, req.params)}:{caller_key}", delivery.idempotency_ttl_s
    if notification.dedup_key is not None:
        return f"source:{notification.dedup_key}", ttl_s
    return None, delivery.idempotency_ttl_s
