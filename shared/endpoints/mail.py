"""POST /api/mail: intake → mail draft → policy → delivery, answering 202 or a problem.

The body is JSON (Graph's sendMail object or the simplified payload), or a MIME message: Graph's
own text/plain base64 form, or message/rfc822 raw (``shared.mail.mime_request``).
"""

from __future__ import annotations

import azure.functions as func

from shared.delivery.dispatch import header_key
from shared.delivery.limits import caller_of
from shared.endpoints._respond import responding
from shared.endpoints.idempotency_keys import caller_scope
from shared.intake import MAX_MAIL_BODY_BYTES, UnsupportedMediaType, is_json_media_type, read_body, read_json
from shared.logs import get_logger
from shared.mail.draft import parse_mail_request
from shared.mail.graph_message import GraphSend
from shared.problems import json_response
from shared.runtime import Runtime, current_runtime

log = get_logger(__name__)


@responding
def handle_mail(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    runtime = runtime or current_runtime()
    runtime.rate_limiter.take(caller_of(req.headers, req.params))
    mail = _approved(req, runtime)
    key = header_key(req.headers.get("Idempotency-Key"))
    # The caller's own key, scoped to that caller: another caller's equal key is another request.
    scoped_key = f"mail/{caller_scope(req.headers, req.params)}:{key}" if key else None
    dispatched = runtime.dispatcher.dispatch(
        mail, request_id, key=scoped_key, ttl_s=runtime.settings.delivery.idempotency_ttl_s
    )
    log.info(
        "%s: %d recipient(s) from %s via %s (%d bytes)",
        dispatched.status, len(mail.recipient_addresses()), mail.mailbox, runtime.transport.name, mail.body_bytes,
    )  # fmt: skip
    return json_response({"status": dispatched.status, "requestId": dispatched.request_id}, 202, request_id)


def _approved(req: func.HttpRequest, runtime: Runtime) -> GraphSend:
    content_type = req.headers.get("Content-Type", "")
    if is_json_media_type(content_type):
        return runtime.policy.approve(parse_mail_request(read_json(req, max_bytes=MAX_MAIL_BODY_BYTES)))
    # Imported here: the email package's parser is not needed on the JSON path, nor at cold start.
    from shared.mail.mime_request import is_mime_media_type, read_mime_request

    if is_mime_media_type(content_type):
        # Graph takes a MIME message only in one sendMail request, under 4 MB: 6 MB read is plenty.
        return runtime.policy.approve_mime(read_mime_request(content_type, read_body(req)))
    raise UnsupportedMediaType(
        "Send JSON ('Content-Type: application/json'), a base64 MIME message as Graph takes it ('text/plain'), "
        f"or a raw one ('message/rfc822'); got '{content_type[:100] or 'none'}'."
    )
