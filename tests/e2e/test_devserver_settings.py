"""The dev server's start: local.settings.json Values must be strings, and a summary of what it serves."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.helpers.devserver import devserver_process, devserver_refusal, write_settings

ROUTES = {"ops": {"to": ["ops@contoso.com"]}, "db-team": {"to": ["db@contoso.com"], "format": "text"}}


def test_a_routes_object_pasted_into_values_is_refused_in_plain_words(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path / "local.settings.json",
        {"MAIL_TRANSPORT": "outbox", "MAIL_ROUTES": ROUTES, "MAIL_MAX_RECIPIENTS": 50, "MAIL_DEBUG": True},
    )
    finished = devserver_refusal(settings, {})
    assert finished.returncode != 0
    output = finished.stdout + finished.stderr
    assert "Traceback" not in output
    # Every offending key at once, each with what it is and how to write it.
    assert "Values.MAIL_ROUTES is a JSON object" in output
    assert "write it as a JSON string" in output
    assert "Values.MAIL_MAX_RECIPIENTS is a number" in output
    assert '"MAIL_MAX_RECIPIENTS": "50"' in output
    assert '"MAIL_DEBUG": "true"' in output
    # The routes' contents (addresses) are not echoed.
    assert "ops@contoso.com" not in output


def test_a_settings_file_that_is_not_json_is_refused_in_plain_words(tmp_path: Path) -> None:
    settings = tmp_path / "local.settings.json"
    settings.write_text('{"Values": {"MAIL_TRANSPORT": "outbox",}}')
    finished = devserver_refusal(settings, {})
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0
    assert "Traceback" not in output
    assert "local.settings.json is not valid JSON" in output and "line 1" in output


def test_the_startup_summary_in_direct_mode_without_storage(tmp_path: Path) -> None:
    # As the sample settings: direct mode, AzureWebJobsStorage empty. The queue function is not
    # declared, so nothing warns that it is not polled.
    settings = write_settings(
        tmp_path / "local.settings.json",
        {
            "AzureWebJobsStorage": "",
            "MAIL_TRANSPORT": "outbox",
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "MAIL_SENDER": "bridge@contoso.com",
            "MAIL_DELIVERY": "direct",
            "MAIL_ROUTES": json.dumps(ROUTES),
            "HOOK_BEARER_TOKEN": "a-secret-token-value",
        },
    )
    with devserver_process(settings, {}) as server:
        output = server.output()
    assert "not polled" not in output
    assert "deliver: [queue]" not in output
    assert "transport: outbox" in output
    assert "delivery: direct" in output
    assert "routes: db-team, default, ops" in output
    for function in ("mail: [POST]", "hooks: [POST]", "health: [GET]", "openapi: [GET]"):
        assert function in output
    assert "/api/hooks/{source}" in output
    # No secrets and no addresses.
    for secret in ("a-secret-token-value", "ops@contoso.com", "bridge@contoso.com"):
        assert secret not in output


def test_the_startup_summary_names_settings_problems_without_their_values(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path / "local.settings.json",
        {"MAIL_TRANSPORT": "smtp://user:pa55word@mail.example", "MAIL_SENDER": "a@contoso.com"},
    )
    with devserver_process(settings, {}) as server:
        output = server.output()
    assert "transport: invalid (see MAIL_TRANSPORT)" in output
    assert "settings to fix: MAIL_TRANSPORT (GET /api/health says what is wrong)" in output
    assert "pa55word" not in output and "mail.example" not in output


def test_the_startup_summary_in_queue_mode_lists_the_queue_function(tmp_path: Path, azurite: str) -> None:
    queue = f"sum-{uuid.uuid4().hex[:10]}"
    settings = write_settings(
        tmp_path / "local.settings.json",
        {"MAIL_TRANSPORT": "outbox", "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"), "MAIL_SENDER": "a@contoso.com"},
    )
    environment = {"MAIL_DELIVERY": "queue", "MAIL_QUEUE_NAME": queue, "AzureWebJobsStorage": azurite}
    with devserver_process(settings, environment) as server:
        output = server.output()
    assert "delivery: queue" in output
    assert f"deliver: [queue] {queue}" in output
    # host.json's numbers and the host's lease, as the poller runs them.
    assert "batchSize 2" in output and "newBatchThreshold 2" in output and "up to 4 at once" in output
    assert "lease 600 s, renewed every 300 s" in output
    assert "devstoreaccount1" not in output and "AccountKey" not in output
