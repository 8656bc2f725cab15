"""POST /api/mail: intake → mail draft → policy → delivery, answering 202 or a problem."""

from __future__ import annotations

import azure.functions as func

from shared.delivery.dispatch import header_key
from shared.delivery.limits import caller_of
from shared.endpoints._respond import responding
from shared.endpoints.idempotency_keys import caller_scope
from shared.intake import MAX_MAIL_BODY_BYTES, read_json
from shared.logs import get_logger
from shared.mail.draft import parse_mail_request
from shared.problems import json_response
from shared.runtime import Runtime, current_runtime

log = get_logger(__name__)


@responding
def handle_mail(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    runtime = runtime or current_runtime()
    runtime.rate_limiter.take(caller_of(req.headers, req.params))
    draft = parse_mail_request(read_json(req, max_bytes=MAX_MAIL_BODY_BYTES))
    mail = runtime.policy.approve(draft)
    key = header_key(req.headers.get("Idempotency-Key"))
    # The caller's own key, scoped to that caller: another caller's equal key is another request.
    scoped_key = f"mail/{caller_scope(req.headers, req.params)}:{key}" if key else None
    dispatched = runtime.dispatcher.dispatch(
        mail, request_id, key=scoped_key, ttl_s=runtime.settings.delivery.idempotency_ttl_s
    )
    log.info(
        "%s: %d recipient(s) from %s via %s (%d bytes)",
        dispatched.status, len(mail.request.message.recipients()), mail.mailbox, runtime.transport.name, len(mail.body),
    )  # fmt: skip
    return json_response({"status": dispatched.status, "requestId": dispatched.request_id}, 202, request_id)
