"""GET /api/openapi.json: the OpenAPI 3.1 contract of the bridge's HTTP functions, this one included.

The request schemas are generated from the pydantic models that validate the requests
(SendMailRequest, its Message, and SimpleMail), and the health answer's from the model /api/health serializes,
so the contract cannot drift from the code. Where a validator accepts or checks more than its type
says, the type says so itself, next to the validator (``WithJsonSchema``, ``json_schema_input_type``);
so do the models for their rules across fields. This module only assembles the document
(operations and responses); it is built on the first request, not at import (cold starts stay
cheap), and once per process.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import azure.functions as func
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from shared.delivery.dispatch import MAX_IDEMPOTENCY_KEY_CHARS
from shared.endpoints._respond import responding
from shared.endpoints.health import Health
from shared.endpoints.status import Status
from shared.mail.draft import MESSAGE_ONLY_KEYS, SIMPLE_ONLY_KEYS
from shared.mail.graph_message import SendMailRequest
from shared.mail.simple import SimpleMail
from shared.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX
from shared.sources import SOURCES

OPENAPI_VERSION = "3.1.0"
# host.json: extensions.http.routePrefix.
ROUTE_PREFIX = "/api"
# The contract changes only with a deploy; clients and proxies may keep it for an hour.
CACHE_CONTROL = "public, max-age=3600"
SCHEMAS_REF = "#/components/schemas/"


@responding
def handle_openapi(req: func.HttpRequest, request_id: str) -> func.HttpResponse:
    return func.HttpResponse(
        body=openapi_json(),
        status_code=200,
        headers={"Cache-Control": CACHE_CONTROL},
        mimetype="application/json",
        charset="utf-8",
    )


@functools.cache
def openapi_json() -> bytes:
    return json.dumps(openapi_document(), indent=1).encode()


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Mailhook",
            "version": "1",
            "summary": "Webhooks in, Microsoft Graph email out.",
            "description": (
                "Errors are RFC 9457 problem documents with a stable `code`; the README's error table "
                "lists every code and what it means."
            ),
        },
        "paths": {
            f"{ROUTE_PREFIX}/mail": {"post": _mail_operation()},
            f"{ROUTE_PREFIX}/hooks/{{source}}": {"post": _hook_operation()},
            f"{ROUTE_PREFIX}/health": {"get": _health_operation()},
            f"{ROUTE_PREFIX}/status": {"get": _status_operation()},
            f"{ROUTE_PREFIX}/openapi.json": {"get": _openapi_operation()},
        },
        "components": {
            "schemas": {**_model_schemas(), **_RESPONSE_SCHEMAS},
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


# --- Schemas: pydantic's, from the models that validate the requests and build the answers --------
# Each type declares its own JSON Schema where its validator is defined (shared.addresses,
# shared.mail.graph_message, shared.mail.simple), the rules across fields included.


class _SchemaGenerator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Torecipients" and the like: pydantic's titles from field names say nothing


def _model_schemas() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [
            (SendMailRequest, "validation"),
            (SimpleMail, "validation"),
            (Health, "serialization"),
            (Status, "serialization"),
        ],
        by_alias=True,
        ref_template=SCHEMAS_REF + "{model}",
        schema_generator=_SchemaGenerator,
    )
    schemas: dict[str, Any] = definitions["$defs"]
    return schemas


# --- Responses ------------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMAS_REF + name}


_RESPONSE_SCHEMAS: dict[str, Any] = {
    "Accepted": {
        "type": "object",
        "description": "Sent (or queued); `duplicate`: an earlier request with the same key did, and its id is given.",
        "required": ["status", "requestId"],
        "properties": {
            "status": {"type": "string", "enum": ["accepted", "duplicate"]},
            "requestId": {"type": "string"},
        },
    },
    "NotMailed": {
        "type": "object",
        "description": "A delivery understood and not mailed: an event the route does not mail, or GitHub's ping.",
        "required": ["status", "reason", "requestId"],
        "properties": {
            "status": {"type": "string", "enum": ["ignored", "pong"]},
            "reason": {"type": "string"},
            "requestId": {"type": "string"},
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "pattern": f"^{PROBLEM_TYPE_PREFIX}[a-z_]+$"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"type": "string", "pattern": "^[a-z_]+$", "description": "stable; see the README's error table"},
            "requestId": {"type": "string"},
            "errors": {"type": "array", "items": _ref("FieldError")},
            "graphStatus": {"type": "integer", "description": "the status Graph answered"},
            "graphError": {"type": "string", "description": "Graph's `error.code`"},
            "graphRequestId": {"type": "string", "description": "Graph's `request-id`, for Microsoft support"},
            "firstRequestId": {"type": "string", "description": "the earlier request with the same key"},
            "identityError": {"type": "string", "description": "the identity provider's `error`"},
            "health": {"const": "misconfigured"},
        },
        "additionalProperties": True,
    },
}

_HEADERS: dict[str, Any] = {
    "X-Request-Id": {
        "description": "This request's id: in the body, in every log line and as Graph's client-request-id.",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}},
}

# What each problem status means; the `code` in the body says which case it is.
_PROBLEMS = {
    400: "The body is not JSON (or not a MIME message, or not its base64), a field or header is wrong (`errors` "
    "names each), or the Idempotency-Key is unusable.",
    401: "The function key is missing or wrong (the Functions host answers, without a body), or a webhook's "
    "bearer token or signature is.",
    403: "A sender or recipient the allow-lists refuse; nothing was sent.",
    404: "No such webhook source, or no such route (or, for `generic`, a route without `mapping`).",
    413: "The body is over 6 MB, or the Graph request would be 4 MB or more.",
    409: "An earlier request with the same Idempotency-Key (or the same webhook delivery) may or may not have "
    "been sent; `firstRequestId` names it. Nothing was sent: it could arrive twice.",
    415: "The body is not sent as JSON, a MIME message (`text/plain` base64 or `message/rfc822`, for /api/mail) "
    "or a form with `payload` (for webhooks).",
    422: "Graph refused the message; `graphError` holds Graph's error code.",
    429: "Too many requests from this caller, or the mailbox's daily recipient budget is used up; nothing was sent.",
    502: "Graph or the identity provider refused the bridge's configuration, or Graph failed.",
    503: "Graph, the token endpoint, the queue or the idempotency table is unavailable, a setting is wrong, or an "
    "earlier request with the same key is still being sent (`in_progress`: retry after `Retry-After`).",
    504: "Graph did not answer in time; not retried, so the message is never sent twice.",
    500: "A bug in the bridge; report the `requestId`, which finds its stack trace in the logs.",
}


def _problem_responses(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": _PROBLEMS[status],
            "headers": _HEADERS,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": _ref("Problem")}},
        }
        for status in statuses
    }


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "headers": _HEADERS, "content": {"application/json": {"schema": schema}}}


# --- Operations -----------------------------------------------------------------------------------

_SECURITY_SCHEMES: dict[str, Any] = {
    "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
    "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
    "hookBearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "Required on /api/hooks, on top of the function key, when HOOK_BEARER_TOKEN is set.",
    },
}
_FUNCTION_KEY: list[dict[str, list[str]]] = [{"functionKey": []}, {"functionKeyQuery": []}]

_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A repeat with the same key within MAIL_IDEMPOTENCY_TTL_S answers `duplicate` and sends nothing.",
    "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY_CHARS},
}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": {"type": "string"}}


def _bare_message_schema() -> dict[str, Any]:
    """A Graph message without its `message` wrapper (the sendMail page's Example 5): one that holds a
    key only a message has, and none of the simplified payload's (as parse_mail_request tells them apart)."""
    return {
        "allOf": [_ref("Message")],
        "anyOf": [{"required": [key]} for key in sorted(MESSAGE_ONLY_KEYS)],
        "not": {"anyOf": [{"required": [key]} for key in sorted(SIMPLE_ONLY_KEYS)]},
        "description": "A Graph message on its own, as the sendMail page's Example 5 prints it; sent wrapped.",
    }


def _mail_operation() -> dict[str, Any]:
    bare_message = _bare_message_schema()
    return {
        "operationId": "sendMail",
        "summary": "Send one message through Microsoft Graph",
        "security": _FUNCTION_KEY,
        "parameters": [_IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"oneOf": [_ref("SendMailRequest"), _ref("SimpleMail"), bare_message]}},
                # Graph's MIME form, forwarded unchanged (https://learn.microsoft.com/graph/api/user-sendmail,
                # example 4), and the raw message as a convenience.
                "text/plain": {
                    "schema": {
                        "type": "string",
                        "contentEncoding": "base64",
                        "contentMediaType": "message/rfc822",
                        "description": "The base64 of an RFC 5322 message, as Graph's sendMail takes it. From and "
                        "Sender choose the sender mailbox as `from` and `sender` do; To, Cc or Bcc are required "
                        "(MAIL_DEFAULT_TO does not apply).",
                    }
                },
                "message/rfc822": {
                    "schema": {"type": "string", "description": "The RFC 5322 message itself; the bridge base64s it."}
                },
            },
        },
        "responses": {
            "202": _json_response("Graph accepted the message (or queued it); or a duplicate.", _ref("Accepted")),
            **_problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 500, 502, 503, 504),
        },
    }


def _hook_operation() -> dict[str, Any]:
    return {
        "operationId": "receiveWebhook",
        "summary": "Mail a sender's webhook, as the sender sends it",
        "description": "Recipients come from the route (MAIL_ROUTES), never from the caller.",
        "security": _FUNCTION_KEY,
        "parameters": [
            {"name": "source", "in": "path", "required": True, "schema": {"type": "string", "enum": list(SOURCES)}},
            {
                "name": "route",
                "in": "query",
                "required": False,
                "description": "A route in MAIL_ROUTES; without it, `default`.",
                "schema": {"type": "string"},
            },
            _IDEMPOTENCY_KEY,
            _header("X-GitHub-Event", "GitHub: the event of the delivery (required for `github`)."),
            _header("X-GitHub-Delivery", "GitHub: the delivery id, which makes redeliveries duplicates."),
            _header("X-Hub-Signature-256", "GitHub: HMAC of the body, checked when GITHUB_WEBHOOK_SECRET is set."),
            _header(
                "X-Grafana-Alerting-Signature", "Grafana: HMAC of the body, checked when GRAFANA_WEBHOOK_SECRET is set."
            ),
            _header(
                "X-PagerDuty-Signature",
                "PagerDuty: `v1=` HMACs of the body, comma-separated, checked when PAGERDUTY_WEBHOOK_SECRET is set.",
            ),
            _header("Sentry-Hook-Resource", "Sentry: the resource of the webhook (required for `sentry`)."),
            _header("Sentry-Hook-Signature", "Sentry: HMAC of the body, checked when SENTRY_CLIENT_SECRET is set."),
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "The sender's own payload; each source reads its own."}
                },
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["payload"],
                        "properties": {"payload": {"type": "string", "description": "the JSON payload"}},
                    }
                },
            },
        },
        "responses": {
            "200": _json_response("GitHub's ping, answered.", _ref("NotMailed")),
            "202": _json_response(
                "Mailed (or queued, or a duplicate), or understood and not mailed.",
                {"anyOf": [_ref("Accepted"), _ref("NotMailed")]},
            ),
            **_problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504),
        },
    }


def _health_operation() -> dict[str, Any]:
    return {
        "operationId": "health",
        "summary": "How the bridge is configured, or which setting is wrong",
        "security": [],
        "responses": {
            "200": {
                "description": "Configured.",
                "headers": {"Cache-Control": {"schema": {"const": "no-store"}}},
                "content": {"application/json": {"schema": _ref("Health")}},
            },
            "503": {
                "description": "A setting is wrong; `errors` names it.",
                "content": {PROBLEM_CONTENT_TYPE: {"schema": _ref("Problem")}},
            },
        },
    }


def _status_operation() -> dict[str, Any]:
    return {
        "operationId": "status",
        "summary": "Each sender mailbox's budget, pace, sends in flight, held notifications and last digest",
        "responses": {
            "200": {
                "description": "The mailboxes, by name (a function key is required).",
                "headers": {"Cache-Control": {"schema": {"const": "no-store"}}},
                "content": {"application/json": {"schema": _ref("Status")}},
            },
            **_problem_responses(500, 503),
        },
    }


def _openapi_operation() -> dict[str, Any]:
    return {
        "operationId": "openapi",
        "summary": "This document: the contract of every operation",
        "security": [],
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 document.",
                "headers": {"Cache-Control": {"schema": {"const": CACHE_CONTROL}}},
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["openapi", "info", "paths"],
                            "properties": {"openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"}},
                        }
                    }
                },
            },
        },
    }
