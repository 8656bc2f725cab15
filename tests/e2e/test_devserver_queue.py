"""The dev server's queue host emulation against Azurite: batches, leases and renewal as the host runs them."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from scripts.devserver import HOST_LEASE_S, HOST_MIN_RENEWAL_S, QueuePoller, QueueSettings
from tests.helpers.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
CODEC: dict[str, Any] = {
    "message_encode_policy": TextBase64EncodePolicy(),
    "message_decode_policy": TextBase64DecodePolicy(),
}


def fast(**overrides: Any) -> QueueSettings:
    values: dict[str, Any] = {"max_polling_interval_s": 0.2, "visibility_timeout_s": 0, "max_dequeue_count": 5}
    return QueueSettings(**{**values, **overrides})


def test_the_host_numbers_are_exposed(tmp_path: Path) -> None:
    # The host's dequeue lease is fixed (not a host.json setting), renewed at half-time.
    assert (HOST_LEASE_S, HOST_MIN_RENEWAL_S) == (600.0, 60.0)
    settings = QueueSettings.from_host_json(ROOT / "host.json", {})
    assert (settings.lease_s, settings.renewal_interval_s) == (600.0, 300.0)
    assert (settings.batch_size, settings.threshold, settings.concurrency) == (2, 2, 4)
    assert (settings.visibility_timeout_s, settings.max_dequeue_count) == (30.0, 5)
    # Without newBatchThreshold: batchSize/2 times the processors, 1 on Consumption (WEBSITE_SKU=Dynamic).
    bare = tmp_path / "host.json"
    bare.write_text('{"version": "2.0"}')
    assert QueueSettings.from_host_json(bare, {"WEBSITE_SKU": "Dynamic"}).threshold == 8
    assert QueueSettings.from_host_json(bare, {"WEBSITE_SKU": "Dynamic"}).max_polling_interval_s == 60.0
    assert QueueSettings(batch_size=16, processor_count=4).threshold == 32


def test_it_runs_batch_size_plus_new_batch_threshold_at_once(azurite: str) -> None:
    name = f"conc-{uuid.uuid4().hex[:10]}"
    release = threading.Event()
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def handler(msg: Any) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(15)
        with lock:
            running[0] -= 1

    poller = QueuePoller("conc", name, azurite, handler, "msg", fast(batch_size=2, new_batch_threshold=2))
    # Queued before the poller starts, so every fetch gets a full batch: a fetch that gets fewer
    # (messages still arriving) counts as a batch for the host too, and 4 would not be reached.
    queue = QueueClient.from_connection_string(azurite, name, **CODEC)
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    for number in range(8):
        queue.send_message(f"m{number}")
    poller.start()
    try:
        assert wait_until(lambda: peak[0] >= 4, timeout_s=10), peak
        time.sleep(0.5)  # and never more than that
    finally:
        release.set()
        poller.stop()
    assert peak[0] == 4


def test_a_new_batch_is_fetched_when_in_flight_drops_to_the_threshold(azurite: str) -> None:
    name = f"thr-{uuid.uuid4().hex[:10]}"
    release = threading.Event()
    done: list[str] = []

    def handler(msg: Any) -> None:
        body = msg.get_body().decode()
        if body == "slow":
            release.wait(20)
        done.append(body)

    poller = QueuePoller("thr", name, azurite, handler, "msg", fast(batch_size=2, new_batch_threshold=1))
    queue = QueueClient.from_connection_string(azurite, name, **CODEC)
    poller.start()
    try:
        queue.send_message("slow")
        for number in range(5):
            queue.send_message(f"fast{number}")
        # One slow message in flight is within the threshold: the rest need not wait for it.
        assert wait_until(lambda: len(done) == 5, timeout_s=10), done
        assert "slow" not in done
    finally:
        release.set()
        poller.stop()


def test_a_running_message_stays_leased_past_its_lease_by_renewal(azurite: str) -> None:
    name = f"lease-{uuid.uuid4().hex[:10]}"
    started = threading.Event()
    calls: list[str] = []

    def handler(msg: Any) -> None:
        calls.append(msg.get_body().decode())
        started.set()
        time.sleep(5)

    # A 2 s lease, renewed every second: the message must stay invisible for the 5 s run.
    settings = fast(batch_size=1, new_batch_threshold=0, lease_s=2)
    assert settings.renewal_interval_s == 1
    poller = QueuePoller("lease", name, azurite, handler, "msg", settings)
    queue = QueueClient.from_connection_string(azurite, name, **CODEC)
    poller.start()
    try:
        queue.send_message("long")
        assert started.wait(10)
        other = QueueClient.from_connection_string(azurite, name, **CODEC)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert not list(other.receive_messages(max_messages=1, visibility_timeout=1)), "lease lapsed"
            time.sleep(0.3)
        assert wait_until(lambda: not list(queue.peek_messages()), timeout_s=10), "deleted on success"
    finally:
        poller.stop()
    assert calls == ["long"]


def test_a_message_dequeued_too_often_goes_to_poison_without_running(azurite: str) -> None:
    # As after a crash mid-run: the dequeue count is past maxDequeueCount before the function runs.
    name = f"crash-{uuid.uuid4().hex[:10]}"
    queue = QueueClient.from_connection_string(azurite, name, **CODEC)
    queue.create_queue()
    queue.send_message("crashed")
    assert [m.content for m in queue.receive_messages(max_messages=1, visibility_timeout=1)] == ["crashed"]
    time.sleep(1.2)
    calls: list[str] = []
    poller = QueuePoller("crash", name, azurite, lambda msg: calls.append("ran"), "msg", fast(max_dequeue_count=1))
    poller.start()
    try:
        poison = QueueClient.from_connection_string(azurite, f"{name}-poison", **CODEC)
        assert wait_until(lambda: bool(poison.peek_messages()), timeout_s=10)
    finally:
        poller.stop()
    assert calls == []
    assert [m.content for m in poison.peek_messages()] == ["crashed"]
