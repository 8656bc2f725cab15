"""POST /api/hooks/{source}: caller check → source adapter → route → template → policy → transport.

After the message is rendered, it takes the same path as /api/mail: the same policy, token and
transport. Recipients come from the route only; a webhook caller can never choose them.
"""

from __future__ import annotations

import uuid
from typing import Any

import azure.functions as func

from shared.delivery.dispatch import dispatch, header_key
from shared.delivery.limits import caller_of
from shared.intake import parse_hook_body, read_body
from shared.logs import get_logger, request_context
from shared.mail.draft import MailDraft
from shared.mail.graph_message import EmailAddress, InternetMessageHeader, ItemBody, Message, Recipient, SendMailRequest
from shared.mail.rendering import RenderedMail
from shared.problems import Problem, answer_problem, json_response
from shared.runtime import Runtime, current_runtime
from shared.settings.routes import DEFAULT_ROUTE, Route
from shared.sources import SOURCES, adapter_for
from shared.sources.base import HookRequest, Skip
from shared.sources.caller_auth import verify_caller
from shared.sources.notification import Notification, Severity, Status

log = get_logger(__name__)


class UnknownSource(Problem):
    status = 404
    code = "unknown_source"
    title = "No such webhook source"


class UnknownRoute(Problem):
    status = 404
    code = "unknown_route"
    title = "No such route"


class RouteWithoutRecipients(Problem):
    status = 503
    code = "route_without_recipients"
    title = "The route has no recipients"


def handle_hook(req: func.HttpRequest, runtime: Runtime | None = None) -> func.HttpResponse:
    request_id = str(uuid.uuid4())
    with request_context(request_id):
        try:
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
            outcome = adapter(
                HookRequest(source=source, payload=payload, headers=req.headers, wanted_events=route.events)
            )
            if isinstance(outcome, Notification) and outcome.status is Status.RESOLVED and not route.send_resolved:
                outcome = Skip(f"route '{route_name}' does not send resolved notifications")
            if isinstance(outcome, Skip):
                log.info("%s delivery not mailed: %s", source, outcome.reason)
                return json_response(
                    {"status": outcome.status, "reason": outcome.reason, "requestId": request_id},
                    outcome.http_status,
                    request_id,
                )
            draft = _draft(outcome, route, route_name, runtime)
            mail = runtime.policy.approve(draft)
            # A key names one notification on one route: the same alert routed twice is two mails.
            key = header_key(req.headers.get("Idempotency-Key")) or outcome.dedup_key
            ttl_s = runtime.settings.delivery.idempotency_ttl_s
            if outcome.repeats and key == outcome.dedup_key:
                ttl_s = runtime.settings.delivery.repeating_dedup_ttl_s
            dispatched = dispatch(
                runtime, mail, request_id, key=f"hooks/{source}/{route_name}:{key}" if key else None, ttl_s=ttl_s
            )
        except Problem as problem:
            return answer_problem(problem, request_id, log)
        log.info(
            "accepted %s %s on route %s: %d recipient(s) via %s",
            source, outcome.status, route_name, len(mail.request.message.recipients()), runtime.transport.name,
        )  # fmt: skip
        return json_response({"status": dispatched.status, "requestId": dispatched.request_id}, 202, request_id)


def _draft(notification: Notification, route: Route, route_name: str, runtime: Runtime) -> MailDraft:
    if not route.recipients() and not runtime.settings.policy.default_to:
        raise RouteWithoutRecipients(
            f"Route '{route_name}' names no recipients; set its 'to' in MAIL_ROUTES, or MAIL_DEFAULT_TO."
        )
    rendered: RenderedMail = runtime.renderer.render(notification, route)
    message = Message(
        subject=rendered.subject,
        body=ItemBody(content_type=rendered.content_type, content=rendered.body),
        to_recipients=_recipients(route.to),
        cc_recipients=_recipients(route.cc),
        bcc_recipients=_recipients(route.bcc),
        importance="high"
        if notification.status is Status.FIRING and notification.severity is Severity.CRITICAL
        else None,
        # Mail rules can sort on these without parsing subjects.
        internet_message_headers=[
            InternetMessageHeader(name="X-Mailhook-Source", value=notification.source),
            InternetMessageHeader(name="X-Mailhook-Status", value=notification.status.value),
        ],
    )
    return MailDraft(SendMailRequest(message=message), route.from_, recipients_field=f"route {route_name}")


def _recipients(addresses: list[Any]) -> list[Recipient] | None:
    return [Recipient(email_address=EmailAddress(address=a.address, name=a.name)) for a in addresses] or None
