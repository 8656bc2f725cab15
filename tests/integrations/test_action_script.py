"""scripts/mailhook_notify.py, the GitHub Action's logic, run as the runner runs it.

Against the dev server (outbox transport) for what the bridge answers, and against FakeMailhook,
which records each request, for what the script puts on the wire and how it retries.
"""

from __future__ import annotations

import base64
import email.utils
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.graph import FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.devserver import devserver, write_settings
from tests.integrations.support import (
    Bridge,
    FakeMailhook,
    action_script,
    bridge_settings,
    problem,
    recipients,
    run_action_script,
    running_bridge,
    workflow_commands,
)

mailhook_notify = action_script()

KEY = "Zm9vYmFy-function-key+/=="  # '+', '/' and '=' as in real keys


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("bridge")) as running:
        yield running


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def fake() -> Iterator[FakeMailhook]:
    with FakeMailhook() as server:
        yield server


def assert_key_only_masked(stdout: str, stderr: str, key: str = KEY) -> None:
    """The key is masked first thing, and printed nowhere else."""
    commands = workflow_commands(stdout)
    assert stdout.splitlines()[0] == f"::add-mask::{key}"
    assert [line for line in stdout.splitlines() if key in line] == [f"::add-mask::{key}"]
    assert key not in stderr
    assert f"::add-mask::{key}" in commands


# ---- against the dev server ---------------------------------------------------------------------


def test_a_mail_is_accepted_and_its_request_id_printed_and_set_as_output(bridge: Bridge, workspace: Path) -> None:
    run = run_action_script(
        workspace,
        {
            "url": bridge.base_url,
            "function-key": KEY,
            "to": "ops@contoso.com,\nlead@contoso.com",
            "cc": "audit@contoso.com",
            # A subject from a commit message: two lines, and text the runner must not take as a command.
            "subject": "Deploy failed\n::warning::not a command",
            "body": "The deploy job exited with code 2.\n",
            "importance": "high",
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    request_id = run.outputs["request-id"]
    assert f"Mailhook accepted the mail. requestId: {request_id}" in run.stdout
    message = bridge.sent(request_id)["message"]
    assert message["subject"] == "Deploy failed ::warning::not a command"
    assert recipients(message, "toRecipients") == ["ops@contoso.com", "lead@contoso.com"]
    assert recipients(message, "ccRecipients") == ["audit@contoso.com"]
    assert message["importance"] == "high"
    assert message["body"] == {"contentType": "text", "content": "The deploy job exited with code 2.\n"}
    assert_key_only_masked(run.stdout, run.stderr)
    assert workflow_commands(run.stdout) == [f"::add-mask::{KEY}"], "input text ran as a workflow command"


def test_body_file_as_html_and_attachments_from_globs(bridge: Bridge, workspace: Path) -> None:
    (workspace / "report.html").write_text("<h1>Build 42</h1><p>3 tests failed</p>", encoding="utf-8")
    (workspace / "logs" / "nested").mkdir(parents=True)
    (workspace / "logs" / "build.log").write_text("step 1 ok\nstep 2 failed\n")
    (workspace / "logs" / "nested" / "test.log").write_text("FAILED test_x\n")
    (workspace / "logs" / "ignored.txt").write_text("not a log")
    (workspace / "core.bin").write_bytes(bytes(range(256)))
    run = run_action_script(
        workspace,
        {
            "url": bridge.base_url,
            "to": "ops@contoso.com",
            "subject": "Build 42 failed",
            "body-file": "report.html",
            "html": "true",
            "attachments": "logs/**/*.log\ncore.bin\nlogs/build.log\nmissing/*.zip\n",
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    message = bridge.sent(run.outputs["request-id"])["message"]
    assert message["body"] == {"contentType": "html", "content": "<h1>Build 42</h1><p>3 tests failed</p>"}
    attached = {item["name"]: base64.b64decode(item["contentBytes"]) for item in message["attachments"]}
    assert attached == {
        "build.log": b"step 1 ok\nstep 2 failed\n",
        "test.log": b"FAILED test_x\n",
        "core.bin": bytes(range(256)),
    }, "each file once, whatever globs match it"
    assert "no file matches the attachments pattern 'missing/*.zip'" in run.stdout


@pytest.mark.parametrize(
    ("fail_on_error", "exit_code", "annotation"), [("true", 1, "::error"), ("false", 0, "::warning")]
)
def test_a_refusal_is_shown_with_every_field_error(
    bridge: Bridge, workspace: Path, fail_on_error: str, exit_code: int, annotation: str
) -> None:
    run = run_action_script(
        workspace,
        {
            "url": bridge.base_url,
            "function-key": KEY,
            "to": "not-an-address",
            "subject": "Deploy failed",
            "importance": "urgent",
            "fail-on-error": fail_on_error,
        },
    )
    assert run.returncode == exit_code, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "Mailhook answered 400 invalid_payload: The request body is not a valid mail request" in lines
    assert "  2 field(s) are invalid; see 'errors'." in lines
    field_errors = [line for line in lines if line.startswith("  - ")]
    assert [line.split(":")[0] for line in field_errors] == ["  - to[0].address", "  - importance"], field_errors
    assert any(line.startswith("  requestId: ") for line in lines)
    annotations = [command for command in workflow_commands(run.stdout) if command.startswith(annotation)]
    assert len(annotations) == 1
    assert annotations[0].startswith(f"{annotation} title=Mail not sent%3A Mailhook answered 400 invalid_payload::")
    assert "%0A  - importance: " in annotations[0], "the annotation holds the field errors, on one line"
    assert "request-id" not in run.outputs
    assert_key_only_masked(run.stdout, run.stderr)


def test_a_503_from_a_throttled_graph_is_retried_after_retry_after(tmp_path: Path, workspace: Path) -> None:
    # Graph throttles for longer than the bridge's deadline allows, so the bridge answers 503 with
    # Graph's Retry-After; the action waits that long and sends again, and Graph accepts.
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        graph.enqueue(429, json=graph_error("ApplicationThrottled", "Too many requests"), headers={"Retry-After": "2"})
        environment = {
            **bridge_settings(MAIL_TRANSPORT="graph", MAIL_SEND_DEADLINE_S="1"),
            "GRAPH_BASE_URL": graph.base_url,
            **identity.environment,
        }
        with devserver(write_settings(tmp_path / "local.settings.json", {}), environment) as base_url:
            started = time.monotonic()
            run = run_action_script(workspace, {"url": base_url, "to": "ops@contoso.com", "subject": "Retried"})
            elapsed_s = time.monotonic() - started
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Mailhook answered 503 graph_unavailable; attempt 2 of 4 in 2 s." in run.stdout
        assert elapsed_s >= 2
        assert [request.status for request in graph.requests] == [429, 202]
        assert run.outputs["request-id"]


# ---- against FakeMailhook: what goes on the wire -----------------------------------------------------


def test_the_key_travels_in_a_header_never_in_the_url(fake: FakeMailhook, workspace: Path) -> None:
    run = run_action_script(workspace, {"url": fake.base_url, "function-key": KEY, "subject": "Hello"})
    assert run.returncode == 0, run.stdout + run.stderr
    [request] = fake.received
    assert (request.method, request.path, request.query) == ("POST", "/api/mail", {})
    assert request.headers["x-functions-key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert_key_only_masked(run.stdout, run.stderr)


def test_a_key_written_into_the_url_is_masked_and_moved_to_the_header(fake: FakeMailhook, workspace: Path) -> None:
    url = f"{fake.base_url}/api/mail?code={KEY.replace('+', '%2B').replace('/', '%2F')}"
    run = run_action_script(workspace, {"url": url, "subject": "Hello"})
    assert run.returncode == 0, run.stdout + run.stderr
    [request] = fake.received
    assert (request.path, request.query, request.headers["x-functions-key"]) == ("/api/mail", {}, KEY)
    assert "the key goes in the x-functions-key header instead" in run.stdout
    assert_key_only_masked(run.stdout, run.stderr)


def test_429_and_503_are_retried_after_retry_after_in_seconds_or_as_a_date(fake: FakeMailhook, workspace: Path) -> None:
    throttled = problem(503, "graph_unavailable", "Microsoft Graph is unavailable", "Throttled.")
    fake.enqueue(429, json=throttled, headers={"Retry-After": "1"})
    # An HTTP date has whole seconds: 4 s from now is still 1 to 3 s away at the second attempt.
    fake.enqueue(503, json=throttled, headers={"Retry-After": email.utils.formatdate(time.time() + 4, usegmt=True)})
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(fake.received) == 3
    gaps_s = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(fake.received)]
    assert gaps_s[0] >= 1 and gaps_s[1] >= 1, gaps_s
    assert len({request.body for request in fake.received}) == 1, "every attempt sends the same mail"


def test_retries_are_bounded(fake: FakeMailhook, workspace: Path) -> None:
    for _ in range(mailhook_notify.MAX_ATTEMPTS):
        fake.enqueue(503, headers={"Retry-After": "0"})
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello"})
    assert run.returncode == 1
    assert len(fake.received) == mailhook_notify.MAX_ATTEMPTS
    assert "Mailhook answered 503: no problem document came back." in run.stdout


def test_a_retry_after_longer_than_the_step_waits_is_not_waited(fake: FakeMailhook, workspace: Path) -> None:
    fake.enqueue(
        503, json=problem(503, "token_unavailable", "No token", "Entra ID is down."), headers={"Retry-After": "3600"}
    )
    started = time.monotonic()
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello"})
    assert time.monotonic() - started < 10
    assert run.returncode == 1
    assert len(fake.received) == 1
    assert "It asks to retry after 3600 s, longer than this step waits." in run.stdout


def test_a_503_that_waiting_cannot_fix_is_not_retried(fake: FakeMailhook, workspace: Path) -> None:
    document = problem(
        503,
        "configuration_invalid",
        "The bridge is not configured correctly",
        "MAIL_SENDER is required.",
        errors=[{"field": "MAIL_SENDER", "message": "required: the mailbox the bridge sends as"}],
    )
    fake.enqueue(503, json=document)
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello"})
    assert run.returncode == 1
    assert len(fake.received) == 1
    assert "  - MAIL_SENDER: required: the mailbox the bridge sends as" in run.stdout.splitlines()


def test_a_refused_key_says_which_input_to_check(fake: FakeMailhook, workspace: Path) -> None:
    fake.enqueue(401)  # the Functions host refuses a wrong key with an empty body
    run = run_action_script(workspace, {"url": fake.base_url, "function-key": KEY, "subject": "Hello"})
    assert run.returncode == 1
    assert "Mailhook answered 401: the function key was refused: check the function-key input" in run.stdout
    assert_key_only_masked(run.stdout, run.stderr)


def test_attachments_the_bridge_would_refuse_are_named_and_nothing_is_sent(fake: FakeMailhook, workspace: Path) -> None:
    # 79 MB of files are 105 MB of base64: over the bridge's 100 MB (the Functions host's limit).
    (workspace / "dump.bin").write_bytes(b"\0" * 50_000_000)
    (workspace / "trace.log").write_bytes(b"x" * 29_000_000)
    (workspace / "small.txt").write_text("fine")
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello", "attachments": "*"})
    assert run.returncode == 1
    assert fake.received == []
    lines = run.stdout.splitlines()
    assert any("the bridge takes requests of at most 100 MB (104,857,600 bytes)" in line for line in lines), lines
    assert [line.split() for line in lines if line.startswith("  ")] == [
        ["50,000,000", "bytes", "dump.bin"],
        ["29,000,000", "bytes", "trace.log"],
        ["4", "bytes", "small.txt"],
    ], "largest first, with sizes"


def test_a_file_over_graphs_4_mb_request_limit_is_sent(fake: FakeMailhook, workspace: Path) -> None:
    # Refused before the draft path existed; the bridge now sends it through an upload session.
    (workspace / "core.dump").write_bytes(b"\1" * 5_000_000)
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello", "attachments": "core.dump"})
    assert run.returncode == 0, run.stdout
    [received] = fake.received
    [attachment] = json.loads(received.body)["attachments"]
    assert len(base64.b64decode(attachment["contentBase64"])) == 5_000_000


def test_plain_http_is_refused_except_to_this_machine(workspace: Path) -> None:
    run = run_action_script(workspace, {"url": "http://mailhook.example.com", "function-key": KEY, "subject": "Hi"})
    assert run.returncode == 1
    assert "'url' must use https:// (plain http:// is accepted only for localhost)." in run.stdout
    assert_key_only_masked(run.stdout, run.stderr)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now_s = 1_800_000_000.0
    assert mailhook_notify.retry_after_s("7", now_s) == 7.0
    assert mailhook_notify.retry_after_s(email.utils.formatdate(now_s + 30, usegmt=True), now_s) == 30.0
    assert mailhook_notify.retry_after_s(email.utils.formatdate(now_s - 30, usegmt=True), now_s) == 0.0
    assert mailhook_notify.retry_after_s("soon", now_s) is None
    assert mailhook_notify.retry_after_s(None, now_s) is None


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"body": "text", "body-file": "body.txt"}, "Give 'body' or 'body-file', not both."),
        ({"html": "maybe"}, "'html' must be true or false, not 'maybe'."),
        ({"fail-on-error": "sometimes"}, "'fail-on-error' must be true or false, not 'sometimes'."),
        ({"body-file": "missing.txt"}, "Cannot read body-file missing.txt: No such file or directory."),
    ],
)
def test_unusable_inputs_fail_before_anything_is_sent(
    fake: FakeMailhook, workspace: Path, inputs: dict[str, str], message: str
) -> None:
    run = run_action_script(workspace, {"url": fake.base_url, "subject": "Hello", **inputs})
    assert run.returncode == 1, "a bad fail-on-error value counts as true"
    assert message in run.stdout.splitlines()
    assert fake.received == []
