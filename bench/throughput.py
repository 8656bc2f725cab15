"""Throughput through scripts/devserver.py: 8 concurrent clients, the fake Graph answering after 50 ms.

The dev server runs as a subprocess, as ``make run`` starts it, configured for the Graph transport
with a managed identity (local.settings.json in a temporary folder). Each client is a thread with
its own keep-alive session posting the minimal simplified payload for ``--seconds``. Graph allows
4 concurrent requests per mailbox, and so does the bridge per process: with 50 ms per send the
ceiling is 4 / 0.05 s = 80 messages/s per sender mailbox. The fake Graph records the most requests
it saw in flight per mailbox; the second run splits the clients over two sender mailbox, whose caps
are independent.

    python bench/throughput.py [--clients 8] [--seconds 8] [--graph-delay-s 0.05]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
import support

MAILBOX_CAP = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_devserver(settings_file: Path, port: int) -> subprocess.Popen[str]:
    command = [sys.executable, str(support.ROOT / "scripts" / "devserver.py"), "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 (our own script)
        [*command, "--settings", str(settings_file)],
        env=support.clean_environment({}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return process
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit("the dev server did not start") from None
            time.sleep(0.1)


def load(base_url: str, clients: int, seconds: float, senders: list[str | None]) -> dict[str, Any]:
    """``clients`` threads posting for ``seconds``; client i sends as senders[i % len(senders)]."""
    latencies_ms: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start_barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        payload = json.loads(support.body_of("simple-minimal"))
        sender = senders[index % len(senders)]
        if sender:
            payload["from"] = sender
        body = json.dumps(payload).encode()
        session = requests.Session()
        mine: list[float] = []
        codes: dict[int, int] = {}
        start_barrier.wait()
        while time.monotonic() < stop_at[0]:
            started = time.perf_counter()
            response = session.post(
                f"{base_url}/api/mail", data=body, headers={"Content-Type": "application/json"}, timeout=30
            )
            mine.append((time.perf_counter() - started) * 1000)
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
        session.close()
        with lock:
            latencies_ms.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    started = time.perf_counter()
    start_barrier.wait()
    for thread in threads:
        thread.join()
    elapsed_s = time.perf_counter() - started
    accepted = statuses.get(202, 0)
    return {
        "clients": clients,
        "sender_mailboxes": len(senders),
        "seconds": elapsed_s,
        "accepted": accepted,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "messages_per_s": accepted / elapsed_s,
        "ceiling_messages_per_s": None,
        "latency_ms": support.summary(latencies_ms) if latencies_ms else None,
        "latency_p95_ms": sorted(latencies_ms)[int(len(latencies_ms) * 0.95)] if latencies_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--graph-delay-s", type=float, default=0.05)
    args = parser.parse_args()

    runs = []
    with support.FakeServices(graph_delay_s=args.graph_delay_s) as fakes, tempfile.TemporaryDirectory() as folder:
        values = {"FUNCTIONS_WORKER_RUNTIME": "python"}
        values.update(support.app_environment(fakes.graph_base_url, fakes.identity_environment))
        settings_file = Path(folder) / "local.settings.json"
        settings_file.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
        port = free_port()
        server = start_devserver(settings_file, port)
        try:
            base_url = f"http://127.0.0.1:{port}"
            for senders in ([None], [None, "bridge-2@contoso.com"]):
                before = fakes.stats()
                run = load(base_url, args.clients, args.seconds, senders)
                after = fakes.stats()
                run["ceiling_messages_per_s"] = MAILBOX_CAP / args.graph_delay_s * len(senders)
                run["graph_accepted"] = after["graph_statuses"].get("202", 0) - before["graph_statuses"].get("202", 0)
                run["max_in_flight_per_mailbox"] = after["max_in_flight_per_mailbox"]
                runs.append(run)
        finally:
            server.terminate()
            server.wait(timeout=10)
        stats = fakes.stats()
    cap_holds = all(peak <= MAILBOX_CAP for peak in stats["max_in_flight_per_mailbox"].values())
    support.emit(
        {
            "section": "throughput",
            "graph_delay_s": args.graph_delay_s,
            "runs": runs,
            "max_in_flight_per_mailbox": stats["max_in_flight_per_mailbox"],
            "identity_token_requests": stats["identity_token_requests"],
            "cap_holds": cap_holds,
        }
    )


if __name__ == "__main__":
    main()
