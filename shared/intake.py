"""Intake: the HTTP request body to a JSON value, refusing what is not JSON or far too big."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import azure.functions as func

from shared.problems import Problem

# A webhook body, and the part of a mail request that is not attachments: a message without its
# attachments must stay under Graph's 4 MB request limit, so a caller's body that maps to it can
# be a little larger (text attachments grow by a third only once base64-encoded by us), never this.
MAX_BODY_BYTES = 6 * 1024 * 1024
# A mail request with attachments: as much as the Functions host takes for an HTTP trigger
# (https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#limits),
# if all but MAX_BODY_BYTES of it is base64 text (the attachments). JSON structure is what makes a
# body costly to parse (two million empty objects, 2 GiB), and base64 has none.
MAX_MAIL_BODY_BYTES = 100 * 1024 * 1024
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_SCAN_SLICE_BYTES = 8 * 1024 * 1024


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "The body must be JSON"


class BodyTooLarge(Problem):
    status = 413
    code = "body_too_large"
    title = "The request body is too large"


class InvalidJson(Problem):
    status = 400
    code = "invalid_json"
    title = "The body is not valid JSON"


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")


def read_json(req: func.HttpRequest, *, max_bytes: int = MAX_BODY_BYTES) -> Any:
    content_type = req.headers.get("Content-Type", "")
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            f"Send the body as JSON with 'Content-Type: application/json' (got '{content_type[:100] or 'none'}')."
        )
    return parse_json(read_body(req, max_bytes=max_bytes))


def read_body(req: func.HttpRequest, *, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused when over ``max_bytes``, or over MAX_BODY_BYTES in anything but base64 text."""
    # The length header is checked first so an oversized body is refused without being read.
    declared_length = req.headers.get("Content-Length", "")
    if declared_length.isdigit() and int(declared_length) > max_bytes:
        raise BodyTooLarge(f"The body is {int(declared_length):,} bytes; at most {max_bytes:,} are accepted.")
    body = req.get_body()
    if len(body) > max_bytes:
        raise BodyTooLarge(f"The body is {len(body):,} bytes; at most {max_bytes:,} are accepted.")
    if len(body) > MAX_BODY_BYTES and _bytes_beside_base64(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(
            f"The body is {len(body):,} bytes; beyond {MAX_BODY_BYTES:,} only attachments (their base64) may "
            "make it larger."
        )
    return body


def _bytes_beside_base64(body: bytes) -> int:
    """How many bytes are not in the base64 alphabet, counted a slice at a time (bounded memory)."""
    view = memoryview(body)
    return sum(
        len(bytes(view[start : start + _SCAN_SLICE_BYTES]).translate(None, _BASE64_ALPHABET))
        for start in range(0, len(body), _SCAN_SLICE_BYTES)
    )


def parse_hook_body(content_type: str, body: bytes) -> Any:
    """A webhook body: JSON, or a form whose ``payload`` field holds the JSON (GitHub, Slack tools)."""
    if is_json_media_type(content_type):
        return parse_json(body)
    if content_type.split(";", 1)[0].strip().lower() == FORM_MEDIA_TYPE:
        try:
            fields = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=100)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidJson(f"The form body cannot be read ({type(exc).__name__}).") from None
        if "payload" not in fields:
            raise InvalidJson("A form body must carry the JSON in its 'payload' field.")
        return parse_json(fields["payload"][0].encode())
    raise UnsupportedMediaType(
        f"Send the body as application/json or as a form with a 'payload' field (got '{content_type[:100] or 'none'}')."
    )


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # {"to": "ops@contoso.com", "to": "x@evil.example"}: parsers disagree on which one wins, and a
    # check made on one reading must hold for the other, so a repeated key is refused outright.
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        repeated = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise InvalidJson(f"The key '{repeated[:64]}' appears twice in one object.")
    return document


def parse_json(body: bytes) -> Any:
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
        # JSON may spell half a UTF-16 surrogate pair ("\ud800"), a string no UTF-8 text can hold;
        # only a body with such an escape pays for the check.
        if _SURROGATE_ESCAPE_RE.search(body):
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except UnicodeEncodeError:
        raise InvalidJson("A string holds a lone UTF-16 surrogate (an escape like \\ud800 without its pair).") from None
    except UnicodeDecodeError as exc:
        raise InvalidJson(f"The body is not UTF-8 (byte {exc.start}).") from None
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"{exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    except RecursionError:
        raise InvalidJson("The JSON is nested too deeply.") from None
