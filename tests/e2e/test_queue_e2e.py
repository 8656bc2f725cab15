"""Queue mode on a laptop: the dev server, Azurite and the fake Graph, as a user runs them."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from scripts.devserver import QueuePoller, QueueSettings
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.devserver import devserver, write_settings
from tests.helpers.processes import wait_until

DATA = Path(__file__).resolve().parents[1] / "data"


def test_the_dev_server_polls_the_queue_like_the_host(tmp_path: Path, azurite: str) -> None:
    settings = write_settings(
        tmp_path / "local.settings.json", {"MAIL_SENDER": f"bridge-{uuid.uuid4().hex[:8]}@contoso.com"}
    )
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        environment = {
            "GRAPH_BASE_URL": graph.base_url,
            "MAIL_DELIVERY": "queue",
            "MAIL_QUEUE_NAME": f"e2e-{uuid.uuid4().hex[:10]}",
            "AzureWebJobsStorage": azurite,
            "MAIL_DEFAULT_TO": "oncall@contoso.com",
            **identity.environment,
        }
        with devserver(settings, environment) as base_url:
            body = (DATA / "alertmanager" / "firing-single.json").read_bytes()
            answers = [
                requests.post(
                    f"{base_url}/api/hooks/alertmanager",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=10,
                ).json()
                for _ in range(3)
            ]
            assert [a["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
            assert wait_until(lambda: len(graph.sent) == 1, timeout_s=15), "the queue function sent it"
            time.sleep(1)
        assert len(graph.sent) == 1
        assert graph.sent[0].headers["client-request-id"] == answers[0]["requestId"]


def test_a_function_that_keeps_failing_ends_in_the_poison_queue(azurite: str) -> None:
    """The dev server's host emulation: retry after visibilityTimeout, poison after maxDequeueCount."""
    name = f"poll-{uuid.uuid4().hex[:10]}"
    attempts: list[str] = []
    done = threading.Event()

    def always_fails(msg: Any) -> None:
        attempts.append(msg.get_body().decode())
        if len(attempts) >= 3:
            done.set()
        raise RuntimeError("boom")

    settings = QueueSettings(
        batch_size=1, new_batch_threshold=0, max_polling_interval_s=0.2, visibility_timeout_s=0.5, max_dequeue_count=3
    )
    poller = QueuePoller("failing", name, azurite, always_fails, "msg", settings)
    poller.start()
    try:
        codec: dict[str, Any] = {
            "message_encode_policy": TextBase64EncodePolicy(),
            "message_decode_policy": TextBase64DecodePolicy(),
        }
        QueueClient.from_connection_string(azurite, name, **codec).send_message("payload")
        poison = QueueClient.from_connection_string(azurite, f"{name}-poison", **codec)
        assert wait_until(lambda: bool(poison.peek_messages()), timeout_s=15)
    finally:
        poller.stop()
    assert attempts == ["payload"] * 3
    assert [m.content for m in poison.peek_messages()] == ["payload"]
