#!/usr/bin/env python3
"""Send one mail through Mailhook's POST /api/mail: the logic of the GitHub Action in action.yml.

Standard library only, so a runner needs nothing but the Python 3 it already has (3.10 or later).
action.yml hands each input over as an environment variable, ``MAILHOOK_`` + the input's name in
capitals with ``-`` as ``_`` (``function-key`` → ``MAILHOOK_FUNCTION_KEY``); see INPUTS below.

What it does, in order:

- masks the function key in the job log (``::add-mask::``) before printing anything else;
- builds the simplified /api/mail payload: ``to``/``cc``, ``subject``, ``text`` or ``html`` from
  ``body`` or ``body-file``, ``importance``, and the files the ``attachments`` globs match, base64;
- refuses locally, naming each file and its size, a message the bridge would refuse as too large
  (its /api/mail takes bodies up to 100 MB, the Functions host's limit, and base64 makes files a
  third larger: about 75 MB of files; files of 3 MB or more go through Graph upload sessions);
- posts it with the key in the ``x-functions-key`` header, never in the URL (URLs are logged);
- retries 429 and 503 after ``Retry-After`` (seconds or an HTTP date), a bounded number of times;
- prints the ``requestId`` and writes it to ``$GITHUB_OUTPUT`` as ``request-id``;
- shows a refusal's problem document (title, detail, each field error) and exits 1, or 0 with a
  warning when ``fail-on-error`` is false.

Everything that comes from the inputs or the server is printed between ``::stop-commands::``
markers, so a subject or an error message can never be read by the runner as a workflow command.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import ipaddress
import json
import os
import random
import re
import secrets
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

# Input name → environment variable action.yml sets. The tests check action.yml against this.
INPUTS = {
    name: "MAILHOOK_" + name.upper().replace("-", "_")
    for name in (
        "url",
        "function-key",
        "to",
        "cc",
        "subject",
        "body",
        "body-file",
        "html",
        "importance",
        "attachments",
        "fail-on-error",
    )
}
OUTPUT_REQUEST_ID = "request-id"

# The bridge's /api/mail takes bodies up to what the Functions host takes for an HTTP trigger, 100 MB
# (README, "Size limits"); larger ones are answered 413 body_too_large. Our payload is that body.
MAX_REQUEST_BYTES = 100 * 1024 * 1024
# Attempts in all for 429 and 503 answers; a Retry-After longer than MAX_RETRY_WAIT_S is not waited.
MAX_ATTEMPTS = 4
MAX_RETRY_WAIT_S = 120.0
BACKOFF_BASE_S = 2.0
# Longer than the bridge's longest send (MAIL_SEND_DEADLINE_S, at most 200 s), shorter than the
# 230 s after which Azure's front end drops an HTTP trigger's request.
REQUEST_TIMEOUT_S = 225.0
RETRYABLE_STATUSES = (429, 503)
# 503 answers that waiting does not fix: the app's settings are wrong (README, "Errors").
PERMANENT_PROBLEM_CODES = frozenset({"configuration_invalid", "route_without_recipients", "outbox_unwritable"})
TRUE_WORDS, FALSE_WORDS = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


class InputError(Exception):
    """An input the action cannot use; nothing was sent."""


@dataclass(frozen=True)
class Inputs:
    url: str
    function_key: str
    to: list[str]
    cc: list[str]
    subject: str
    body: str | None
    body_file: str | None
    html: bool
    importance: str | None
    attachment_patterns: list[str]


@dataclass(frozen=True)
class Answer:
    """The bridge's HTTP answer; ``document`` is its JSON body, if it had one."""

    status: int
    headers: Mapping[str, str]
    document: Any

    @property
    def problem_code(self) -> str:
        return str(self.document.get("code", "")) if isinstance(self.document, dict) else ""


@dataclass
class Console:
    """stdout for the runner: ``command`` lines are run by it, ``say`` text never is."""

    stream: TextIO
    _stop_token: str | None = field(default=None, init=False)

    def command(self, line: str) -> None:
        self._resume()
        self.stream.write(line + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """Print text that may hold input or server content; the runner never parses it."""
        if self._stop_token is None:
            self._stop_token = secrets.token_hex(16)
            self.stream.write(f"::stop-commands::{self._stop_token}\n")
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._resume()

    def _resume(self) -> None:
        if self._stop_token is not None:
            self.stream.write(f"::{self._stop_token}::\n")
            self._stop_token = None


def escape_data(text: str) -> str:
    """A workflow command's message: one line, whatever it holds (GitHub Docs, "Workflow commands")."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# ---- inputs -----------------------------------------------------------------------------------


def read_inputs(environ: Mapping[str, str]) -> Inputs:
    def text(name: str) -> str:
        return environ.get(INPUTS[name], "").strip()

    body = environ.get(INPUTS["body"], "")  # kept as written: leading spaces may be indentation
    body_file = text("body-file")
    if body.strip() and body_file:
        raise InputError("Give 'body' or 'body-file', not both.")
    importance = text("importance").lower()
    boolean(text("fail-on-error") or "true", "fail-on-error")  # main() reads it first, leniently
    return Inputs(
        url=text("url"),
        function_key=text("function-key"),
        to=address_list(text("to")),
        cc=address_list(text("cc")),
        # A subject is one line (the bridge refuses CR/LF); a commit message pasted in is not.
        subject=" ".join(text("subject").split()),
        body=body if body.strip() else None,
        body_file=body_file or None,
        html=boolean(text("html"), "html"),
        importance=importance or None,
        attachment_patterns=[line.strip() for line in text("attachments").splitlines() if line.strip()],
    )


def address_list(text: str) -> list[str]:
    """Addresses separated by commas or line breaks."""
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def boolean(text: str, name: str) -> bool:
    if text.lower() in TRUE_WORDS:
        return True
    if text.lower() in FALSE_WORDS:
        return False
    raise InputError(f"'{name}' must be true or false, not '{text}'.")


def mail_endpoint(url: str, function_key: str) -> tuple[str, str, bool]:
    """The /api/mail URL without any key, the key, and whether the key had to be taken out of the URL.

    ``url`` is the function app's base URL (azd's FUNCTION_BASE_URL) or the full /api/mail URL.
    """
    if not url:
        raise InputError("'url' is required: the function app's base URL, e.g. https://<app>.azurewebsites.net.")
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise InputError(f"'url' must be an https:// URL, not '{parts.scheme or url[:40]}'.")
    if parts.scheme == "http" and not _is_loopback(host):
        # The key travels in a header: over plain HTTP, anyone on the way could read it.
        raise InputError("'url' must use https:// (plain http:// is accepted only for localhost).")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    keys_in_url = [value for name, value in query if name == "code"]
    moved = bool(keys_in_url)
    if moved and not function_key:
        function_key = keys_in_url[0]
    path = parts.path.rstrip("/")
    if not path.endswith("/api/mail"):
        path += "/api/mail"
    kept_query = urllib.parse.urlencode([(name, value) for name, value in query if name != "code"])
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, kept_query, "")), function_key, moved


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def attachment_files(patterns: list[str], root: Path) -> tuple[list[Path], list[str]]:
    """The files the globs match (``**`` spans folders), each once, in order; and the globs that matched none.

    Relative globs start at ``root``, the workspace.
    """
    found: dict[Path, None] = {}
    unmatched = []
    for pattern in patterns:
        as_path = Path(pattern)
        base = Path(as_path.anchor) if as_path.is_absolute() else root
        relative = str(as_path.relative_to(as_path.anchor)) if as_path.is_absolute() else pattern
        matches = sorted(path for path in base.glob(relative) if path.is_file())
        if not matches:
            unmatched.append(pattern)
        found.update(dict.fromkeys(matches))
    return list(found), unmatched


def build_payload(inputs: Inputs, body_text: str | None, files: list[Path]) -> dict[str, Any]:
    """The simplified /api/mail payload (README, "Sending mail")."""
    payload: dict[str, Any] = {"subject": inputs.subject}
    if inputs.to:
        payload["to"] = inputs.to
    if inputs.cc:
        payload["cc"] = inputs.cc
    payload["html" if inputs.html else "text"] = body_text or ""
    if inputs.importance:
        payload["importance"] = inputs.importance
    if files:
        payload["attachments"] = [
            {"name": path.name, "contentBase64": base64.b64encode(path.read_bytes()).decode("ascii")} for path in files
        ]
    return payload


def too_large_message(request_bytes: int, files: list[Path], root: Path) -> str:
    lines = [
        f"The mail would be {request_bytes:,} bytes; the bridge takes requests of at most 100 MB "
        f"({MAX_REQUEST_BYTES:,} bytes), and base64 makes attachments a third larger, "
        "so about 75 MB of files in all. Attach less, or compress the files:"
    ]
    for path in sorted(files, key=lambda path: -path.stat().st_size):
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        lines.append(f"  {path.stat().st_size:>12,} bytes  {shown}")
    return "\n".join(lines)


# ---- HTTP ---------------------------------------------------------------------------------------


def post(url: str, function_key: str, body: bytes) -> Answer:
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "mailhook-action"}
    if function_key:
        headers["x-functions-key"] = function_key
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (https, or http to loopback: checked in mail_endpoint)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310 (as above)
            return _answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return _answer(error.code, error.headers, error.read())


def _answer(status: int, headers: Any, raw: bytes) -> Answer:
    try:
        document = json.loads(raw) if raw else None
    except ValueError:
        document = raw.decode("utf-8", "replace")[:2000]
    return Answer(status, {name.lower(): value for name, value in headers.items()}, document)


def failed_before_sending(error: urllib.error.URLError) -> bool:
    """True only when the request cannot have reached the bridge, so sending again cannot mail twice."""
    return isinstance(error.reason, ConnectionRefusedError | socket.gaierror)


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_s)


def backoff_s(attempt: int) -> float:
    return BACKOFF_BASE_S * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)


# ---- reporting ----------------------------------------------------------------------------------


def describe_refusal(answer: Answer) -> list[str]:
    """The answer as lines a person can act on: the problem's title, detail and every field error."""
    document = answer.document
    if isinstance(document, dict) and ("title" in document or "detail" in document):
        code = f" {document['code']}" if document.get("code") else ""
        lines = [f"Mailhook answered {answer.status}{code}: {document.get('title', '')}".rstrip(": ")]
        if document.get("detail"):
            lines.append(f"  {document['detail']}")
        for error in document.get("errors") or []:
            if isinstance(error, dict):
                where = error.get("field") or "(body)"
                lines.append(f"  - {where}: {error.get('message', '')}")
        for name in ("graphError", "requestId"):
            if document.get(name):
                lines.append(f"  {name}: {document[name]}")
        return lines
    hint = {
        401: "the function key was refused: check the function-key input (az functionapp keys list)",
        403: "the request was refused before it reached Mailhook (access restrictions?)",
        404: "there is no Mailhook /api/mail at this URL: check the url input",
    }.get(answer.status, "no problem document came back")
    lines = [f"Mailhook answered {answer.status}: {hint}."]
    if isinstance(document, str) and document.strip():
        lines.append("  " + document.strip().replace("\n", "\n  ")[:500])
    return lines


def write_output(name: str, value: str, environ: Mapping[str, str]) -> None:
    path = environ.get("GITHUB_OUTPUT")
    if path and re.fullmatch(r"[\w.-]+", value):
        with Path(path).open("a", encoding="utf-8") as outputs:
            outputs.write(f"{name}={value}\n")


# ---- the run ------------------------------------------------------------------------------------


class SendFailed(Exception):
    """The mail was not sent (or may not have been): ``summary`` in a line, ``lines`` in full."""

    def __init__(self, summary: str, lines: list[str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.lines = lines


def mask_secrets(environ: Mapping[str, str], console: Console) -> None:
    """``::add-mask::`` the function key, and a key written into the URL as ``?code=``."""
    query = urllib.parse.urlsplit(environ.get(INPUTS["url"], "").strip()).query
    secrets_given = [environ.get(INPUTS["function-key"], "")]
    secrets_given += [value for name, value in urllib.parse.parse_qsl(query) if name == "code"]
    for secret in secrets_given:
        for line in secret.splitlines():  # the runner masks line by line
            if line.strip():
                console.command(f"::add-mask::{line.strip()}")


def run(environ: Mapping[str, str], console: Console, *, sleep: Callable[[float], None] = time.sleep) -> str:
    """Send the mail; return its requestId or raise InputError or SendFailed."""
    inputs = read_inputs(environ)
    url, function_key, key_was_in_url = mail_endpoint(inputs.url, inputs.function_key)
    if key_was_in_url:
        console.say("Note: the url held ?code=; the key goes in the x-functions-key header instead (URLs are logged).")
    root = Path(environ.get("GITHUB_WORKSPACE") or Path.cwd())
    body_text = inputs.body
    if inputs.body_file:
        try:
            body_text = (root / inputs.body_file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"Cannot read body-file {inputs.body_file}: {exc.strerror}.") from None
    files, unmatched = attachment_files(inputs.attachment_patterns, root)
    for pattern in unmatched:
        console.say(f"Note: no file matches the attachments pattern '{pattern}'.")

    body = json.dumps(build_payload(inputs, body_text, files)).encode()
    if len(body) > MAX_REQUEST_BYTES:
        raise SendFailed("the attachments are too large", too_large_message(len(body), files, root).splitlines())

    recipients = len(inputs.to) + len(inputs.cc)
    console.say(
        f"Mailhook: sending '{inputs.subject}' to {recipients or 'the default'} recipient(s)"
        f"{f' with {len(files)} attachment(s)' if files else ''} ({len(body):,} bytes) to {url}"
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            answer = post(url, function_key, body)
        except urllib.error.URLError as error:
            if not failed_before_sending(error) or attempt == MAX_ATTEMPTS:
                raise SendFailed(
                    "Mailhook could not be reached", [f"Mailhook could not be reached at {url}: {error.reason}."]
                ) from None
            wait_s = backoff_s(attempt)
            console.say(f"Mailhook could not be reached ({error.reason}); trying again in {wait_s:.0f} s.")
            sleep(wait_s)
            continue
        except (OSError, http.client.HTTPException) as error:  # timeouts included
            raise SendFailed(
                "Mailhook did not answer",
                [
                    f"Mailhook did not answer ({type(error).__name__}). The mail may or may not have been sent; "
                    "it is not sent again, so that it never arrives twice."
                ],
            ) from None
        if answer.status == 202 and isinstance(answer.document, dict) and answer.document.get("requestId"):
            return str(answer.document["requestId"])
        summary = f"Mailhook answered {answer.status} {answer.problem_code}".rstrip()
        retryable = answer.status in RETRYABLE_STATUSES and answer.problem_code not in PERMANENT_PROBLEM_CODES
        if not retryable or attempt == MAX_ATTEMPTS:
            raise SendFailed(summary, describe_refusal(answer))
        asked_s = retry_after_s(answer.headers.get("retry-after"), time.time())
        wait_s = asked_s if asked_s is not None else backoff_s(attempt)
        if wait_s > MAX_RETRY_WAIT_S:
            raise SendFailed(
                summary,
                [*describe_refusal(answer), f"  It asks to retry after {wait_s:.0f} s, longer than this step waits."],
            )
        console.say(f"{summary}; attempt {attempt + 1} of {MAX_ATTEMPTS} in {wait_s:.0f} s.")
        sleep(wait_s)
    raise AssertionError("unreachable: the last attempt returns or raises")


def main(environ: Mapping[str, str] = os.environ, stdout: TextIO = sys.stdout) -> int:
    console = Console(stdout)
    mask_secrets(environ, console)
    try:
        fail_on_error = boolean(environ.get(INPUTS["fail-on-error"], "").strip() or "true", "fail-on-error")
    except InputError:
        fail_on_error = True  # read_inputs reports the bad value
    try:
        request_id = run(environ, console)
    except (InputError, SendFailed) as failure:
        summary = failure.summary if isinstance(failure, SendFailed) else "invalid input"
        lines = failure.lines if isinstance(failure, SendFailed) else [str(failure)]
        for line in lines:
            console.say(line)
        level = "error" if fail_on_error else "warning"
        title = escape_property(f"Mail not sent: {summary}")
        console.command(f"::{level} title={title}::{escape_data(chr(10).join(lines))}")
        if not fail_on_error:
            console.command("::notice::fail-on-error is false, so this step succeeds all the same.")
        return 1 if fail_on_error else 0
    console.say(f"Mailhook accepted the mail. requestId: {request_id}")
    console.close()
    write_output(OUTPUT_REQUEST_ID, request_id, environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
