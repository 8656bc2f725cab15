"""An alert storm on a scaled-out app: dev-server instances on one Azurite, one sender mailbox.

``--alerts`` distinct Alertmanager alerts are posted at once (40 senders) to ``--instances``
dev-server processes sharing one Azurite, in direct or queue mode, to a route of 5 recipients on
a budget of 900; the fake Graph (tests/fakes/graph.py) refuses a fifth concurrent request per
mailbox and blocks the mailbox past 1,000 recipients, as Outlook and Exchange do. Reported: mails
sent, alerts named in a delivered mail, mails blocked, the seconds until the last alert was in a
delivered mail, Table requests per alert (counted by a proxy in front of Azurite's Table endpoint)
and the instances' CPU per alert (from /proc, polling included).

    python bench/storm.py [--alerts 240] [--instances 4] [--delivery direct|queue]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import requests
import support

from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.alerts import distinct_alert
from tests.helpers.azurite import running_azurite
from tests.helpers.devserver import devserver_process, write_settings

RECIPIENTS = [f"oncall{n}@contoso.com" for n in range(5)]
_NAME = re.compile(r"StormAlert\d{4}")
_TABLE_ENDPOINT = re.compile(r"TableEndpoint=http://127\.0\.0\.1:(\d+)/")


class CountingProxy:
    """A TCP proxy that counts the HTTP requests passing through it (request lines, keep-alive too)."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.requests = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if count:
                    with self._lock:
                        self.requests += chunk.count(b" HTTP/1.1\r\n")
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def alert(number: int) -> bytes:
    return distinct_alert(f"StormAlert{number:04d}")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def instances(count: int, graph: FakeGraph, delivery: str, folder: Path) -> Iterator[tuple[list[Any], CountingProxy]]:
    with running_azurite() as azurite, FakeManagedIdentity() as identity, ExitStack() as stack:
        identity.on_issue = graph.valid_tokens.add
        match = _TABLE_ENDPOINT.search(azurite)
        assert match is not None
        proxy = CountingProxy(int(match[1]))
        stack.callback(proxy.close)
        environment = {
            "MAIL_SENDER": "bridge@contoso.com",
            "MAIL_ROUTES": json.dumps({"default": {"to": RECIPIENTS}}),
            "GRAPH_BASE_URL": graph.base_url,
            "AzureWebJobsStorage": azurite.replace(f":{match[1]}/", f":{proxy.port}/"),
            "MAIL_DELIVERY": delivery,
            "MAIL_QUEUE_NAME": "storm-mail",
            "MAIL_RATE_LIMIT_PER_MINUTE": "0",
            "MAIL_DAILY_RECIPIENT_BUDGET": "900",
            "MAIL_DIGEST_WINDOW_S": "3",
            **identity.environment,
        }
        servers = []
        for number in range(count):
            settings = write_settings(folder / f"local.settings-{number}.json", {})
            servers.append(stack.enter_context(devserver_process(settings, environment)))
        yield servers, proxy


def storm(alerts: int, count: int, delivery: str) -> dict[str, Any]:
    graph = FakeGraph(default_delay_s=0.2, recipients_per_day=1000)
    with graph, tempfile.TemporaryDirectory() as folder, instances(count, graph, delivery, Path(folder)) as running:
        servers, proxy = running
        table_before = proxy.requests
        cpu_before = sum(cpu_s(server.process.pid) for server in servers)
        started = time.monotonic()

        def post(number: int) -> int:
            for attempt in range(30):
                server = servers[(number + attempt) % len(servers)]
                response = requests.post(
                    f"{server.base_url}/api/hooks/alertmanager",
                    data=alert(number),
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
                if response.status_code < 500:
                    return response.status_code
                time.sleep(float(response.headers.get("Retry-After", "1")))
            return response.status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(post, range(alerts)))
        answered_s = time.monotonic() - started
        expected = {f"StormAlert{n:04d}" for n in range(alerts)}

        def covered() -> set[str]:
            names: set[str] = set()
            for request in graph.delivered:
                message = request.message
                names |= set(_NAME.findall(message["subject"] + message["body"]["content"]))
            return names & expected

        while len(covered()) < alerts and time.monotonic() - started < 300:
            time.sleep(0.2)
        last_covered_s = time.monotonic() - started
        time.sleep(2)  # settling: the digest rows' removal, the last in-flight sends
        cpu = sum(cpu_s(server.process.pid) for server in servers) - cpu_before
        sent = graph.sent
        return {
            "delivery": delivery,
            "alerts": alerts,
            "instances": count,
            "answered_202": statuses.count(202),
            "seconds_to_answer_all": round(answered_s, 2),
            "mails_sent": len(sent),
            "digests": sum(1 for r in sent if r.message["subject"].startswith("[DIGEST]")),
            "alerts_covered": len(covered()),
            "blocked": len(graph.blocked),
            "recipients": sum(len(r.message.get("toRecipients") or []) for r in sent),
            "seconds_until_last_alert_delivered": round(last_covered_s, 2),
            "most_in_flight": max(graph.max_concurrent_per_mailbox.values(), default=0),
            "concurrency_refusals": graph.concurrency_refusals,
            "table_requests_per_alert": round((proxy.requests - table_before) / alerts, 1),
            "cpu_ms_per_alert": round(cpu * 1000 / alerts, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=240)
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--delivery", choices=["direct", "queue", "both"], default="both")
    args = parser.parse_args()
    modes = ["direct", "queue"] if args.delivery == "both" else [args.delivery]
    support.emit({"runs": [storm(args.alerts, args.instances, mode) for mode in modes]})


if __name__ == "__main__":
    main()
