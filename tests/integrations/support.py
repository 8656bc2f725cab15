"""What the integration tests share: the examples, the action's script as a runner runs it, the outbox.

The bridge under test is scripts/devserver.py as a subprocess (tests/helpers/devserver.py) with the
outbox transport, so each accepted mail can be read back as the exact Graph request it became.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from tests.fakes import FakeHttpServer, HttpAnswer, HttpRequest
from tests.fakes.graph import message_of_mime
from tests.helpers.devserver import devserver, write_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ROUTES_FILE = EXAMPLES / "routes.json"
ACTION_YML = ROOT / "action.yml"
ACTION_SCRIPT = ROOT / "scripts" / "mailhook_notify.py"
SENDER = "bridge@contoso.com"
# Every recipient in the examples is at contoso.com; the bridge under test allows no other domain.
ALLOWED_DOMAINS = "contoso.com"

_EXPRESSION_RE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def action_script() -> ModuleType:
    """scripts/mailhook_notify.py as a module, for its constants and pure functions.

    Loaded from its path: scripts/ is not a package, and mypy would see the file under two names.
    """
    if (loaded := sys.modules.get("mailhook_notify")) is not None:
        return loaded
    spec = importlib.util.spec_from_file_location("mailhook_notify", ACTION_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def example_routes() -> dict[str, Any]:
    routes: dict[str, Any] = json.loads(ROUTES_FILE.read_text(encoding="utf-8"))
    return routes


def bridge_settings(**extra: str) -> dict[str, str]:
    """App settings of a bridge configured as the examples assume: their routes, the outbox."""
    return {
        "MAIL_TRANSPORT": "outbox",
        "MAIL_SENDER": SENDER,
        "MAIL_ALLOWED_RECIPIENT_DOMAINS": ALLOWED_DOMAINS,
        "MAIL_ROUTES_FILE": str(ROUTES_FILE),
        **extra,
    }


@dataclass(frozen=True)
class Bridge:
    base_url: str
    outbox: Path

    def sent(self, request_id: str) -> dict[str, Any]:
        """The Graph request the bridge made of the mail answered with ``request_id``; a MIME
        mail's (webhooks, by default) as ``{"message": ...}`` the way Graph reads it."""
        [path] = self.outbox.glob(f"*-{request_id}.eml")
        return _request_of(path)

    def all_sent(self) -> list[dict[str, Any]]:
        return [_request_of(path) for path in sorted(self.outbox.glob("*.eml"))]


def _request_of(eml: Path) -> dict[str, Any]:
    """The outbox's Graph request of an .eml: its .json, or for a MIME send (a .txt) the message."""
    if eml.with_suffix(".json").exists():
        document: dict[str, Any] = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))
        return document
    mime = BytesParser(policy=email.policy.default).parsebytes(eml.read_bytes())
    return {"message": message_of_mime(mime)}


@contextmanager
def running_bridge(directory: Path, **settings: str) -> Iterator[Bridge]:
    """The dev server with ``bridge_settings(**settings)``, given in the environment so they win."""
    outbox = directory / "outbox"
    directory.mkdir(parents=True, exist_ok=True)
    settings_file = write_settings(directory / "local.settings.json", {})
    environment = {**bridge_settings(**settings), "MAIL_OUTBOX_DIR": str(outbox)}
    with devserver(settings_file, environment) as base_url:
        yield Bridge(base_url, outbox)


def recipients(message: dict[str, Any], field: str) -> list[str]:
    return [r["emailAddress"]["address"] for r in message.get(field) or []]


# ---- the action's script ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]  # what the script wrote to $GITHUB_OUTPUT


def run_action_script(workspace: Path, inputs: Mapping[str, str], *, timeout_s: float = 60) -> ActionRun:
    """scripts/mailhook_notify.py as action.yml runs it: inputs as MAILHOOK_* variables, in the workspace."""
    output_file = workspace.parent / f"github-output-{uuid.uuid4().hex}"
    output_file.touch()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MAILHOOK_", "GITHUB_"))},
        **{"MAILHOOK_" + name.upper().replace("-", "_"): value for name, value in inputs.items()},
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_WORKSPACE": str(workspace),
    }
    completed = subprocess.run(
        [sys.executable, str(ACTION_SCRIPT)],
        cwd=workspace,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return ActionRun(completed.returncode, completed.stdout, completed.stderr, read_outputs(output_file))


def read_outputs(path: Path) -> dict[str, str]:
    """A $GITHUB_OUTPUT file's ``name=value`` lines (the only form the script writes)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def workflow_commands(stdout: str) -> list[str]:
    """The lines the runner would run as workflow commands, honouring ``::stop-commands::``.

    The runner trims leading whitespace and takes a line starting with ``::`` as a command
    (GitHub Docs, "Workflow commands for GitHub Actions", "Stopping and starting workflow commands").
    """
    commands = []
    stop_token: str | None = None
    for line in stdout.splitlines():
        text = line.strip()
        if stop_token is not None:
            if text == f"::{stop_token}::":
                stop_token = None
            continue
        if text.startswith("::stop-commands::"):
            stop_token = text.removeprefix("::stop-commands::")
        elif text.startswith("::"):
            commands.append(text)
    assert stop_token is None, "the script left workflow commands stopped"
    return commands


def expand_expressions(text: str, context: Mapping[str, str]) -> str:
    """``${{ expr }}`` replaced from ``context``, as the runner would; an unknown expression fails the test."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in context, f"the test does not know the expression '{expression}'"
        return context[expression]

    return _EXPRESSION_RE.sub(value, text)


# ---- a fake bridge that records what the script sends ----------------------------------------------


class FakeMailhook(FakeHttpServer):
    """Answers POST /api/mail like the bridge (202 and a requestId), or with answers a test queues."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[HttpRequest] = []

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        with self._lock:
            self.received.append(request)
        scripted = self._next_scripted()
        if scripted is not None:
            return scripted.as_answer()
        request_id = str(uuid.uuid4())
        return HttpAnswer.with_json(202, {"status": "accepted", "requestId": request_id}, {"X-Request-Id": request_id})


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A problem document as the bridge writes it (README, "Errors")."""
    return {
        "type": f"urn:mailhook:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "requestId": str(uuid.uuid4()),
        **extra,
    }


# ---- how each sender signs and addresses a delivery, per its own documentation -----------------------


def with_base_url(example_url: str, base_url: str) -> str:
    """An example's URL with its scheme and host replaced by the bridge under test; path and query kept."""
    parts = urllib.parse.urlsplit(example_url)
    return urllib.parse.urlunsplit((*urllib.parse.urlsplit(base_url)[:2], parts.path, parts.query, ""))


def route_of(url: str) -> str:
    """The ``?route=`` of a hook URL; the bridge's default route without one."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("route", ["default"])[0]


def grafana_signature(secret: str, body: bytes, timestamp: str | None) -> str:
    """Grafana's webhook HMAC (grafana/alerting http/hmac.go): hex HMAC-SHA256 of "<ts>:" + body, or of body."""
    signed = (timestamp.encode() + b":" + body) if timestamp else body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def github_signature(secret: str, body: bytes) -> str:
    """GitHub's X-Hub-Signature-256 (GitHub Docs, "Validating webhook deliveries")."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
