"""An alert storm on a scaled-out app: four dev-server processes, one Azurite, one sender mailbox.

Measured before the mailbox-wide limits: 240 alerts through four instances, each believing it had
used about 300 of its 900 recipients, put 1,200 recipients through a mailbox Exchange blocks past
1,000, and 40 alerts were lost behind a 202; Graph refused 20-30 sends for going past 4 in flight.
Here the fake Graph applies both limits as Outlook and Exchange do (tests/fakes/graph.py), and the
storm must end with: no mail blocked, every alert named in a delivered mail, the budget never
exceeded, never more than 4 sends in flight, in direct and in queue mode, and with an instance
SIGKILLed mid-storm.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes.graph import FakeGraph, GraphRequest
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.alerts import distinct_alert
from tests.helpers.azurite import running_azurite
from tests.helpers.devserver import RunningDevServer, devserver_process, write_settings
from tests.helpers.processes import wait_until

DATA = Path(__file__).resolve().parents[1] / "data"
INSTANCES = 4
ALERTS = 240
RECIPIENTS = [f"oncall{n}@contoso.com" for n in range(5)]
TENANT_RECIPIENTS_PER_DAY = 1000  # the fake Exchange blocks the mailbox past this
BUDGET = 900
_NAME = re.compile(r"StormAlert\d{3}")


def alert(number: int) -> bytes:
    return distinct_alert(f"StormAlert{number:03d}")


@contextmanager
def storm_bridge(tmp_path: Path, graph: FakeGraph, delivery: str, **extra: str) -> Iterator[list[RunningDevServer]]:
    with running_azurite() as azurite, FakeManagedIdentity() as identity, ExitStack() as stack:
        identity.on_issue = graph.valid_tokens.add
        environment = {
            "MAIL_SENDER": "bridge@contoso.com",
            "MAIL_ROUTES": json.dumps({"default": {"to": RECIPIENTS}}),
            "GRAPH_BASE_URL": graph.base_url,
            "AzureWebJobsStorage": azurite,
            "MAIL_DELIVERY": delivery,
            "MAIL_QUEUE_NAME": "storm-mail",
            "MAIL_RATE_LIMIT_PER_MINUTE": "0",
            "MAIL_DAILY_RECIPIENT_BUDGET": str(BUDGET),
            "MAIL_DIGEST_WINDOW_S": "3",
            **identity.environment,
            **extra,
        }
        servers = []
        for number in range(INSTANCES):
            folder = tmp_path / f"instance-{number}"
            folder.mkdir()
            settings = write_settings(folder / "local.settings.json", {})
            servers.append(stack.enter_context(devserver_process(settings, environment)))
        yield servers


def named_alerts(sent: list[GraphRequest]) -> set[str]:
    names: set[str] = set()
    for request in sent:
        message = request.message
        names |= set(_NAME.findall(message["subject"])) | set(_NAME.findall(message["body"]["content"]))
    return names


def held_count(server: RunningDevServer) -> int:
    count: int = requests.get(f"{server.base_url}/api/health", timeout=10).json()["mailboxLimits"]["heldNotifications"]
    return count


def recipients_of(sent: list[GraphRequest]) -> int:
    return sum(len(request.message.get("toRecipients") or []) for request in sent)


def post_storm(
    servers: list[RunningDevServer], *, kill_after: int | None = None, cut: set[int] | None = None
) -> dict[int, tuple[int, str]]:
    """Post every alert at once from 40 senders spread over the instances; a sender whose instance
    is gone (or answers 5xx) retries on the next one, as Alertmanager retries a failed delivery.
    ``cut`` collects the alerts whose request a dead instance dropped without an answer."""
    answers: dict[int, tuple[int, str]] = {}
    posted = threading.Semaphore(0)
    dead: set[int] = set()

    def send(number: int) -> None:
        body = alert(number)
        # A request the kill cut mid-claim stays "in_progress" until its claim's lease (240 s)
        # lapses; the storm's sender gives up sooner, with that as its last answer.
        give_up_at = time.monotonic() + 30
        for attempt in range(60):
            if time.monotonic() > give_up_at:
                break
            index = (number + attempt) % len(servers)
            if index in dead:
                continue
            try:
                response = requests.post(
                    f"{servers[index].base_url}/api/hooks/alertmanager",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
            except requests.ConnectionError:
                if cut is not None:
                    cut.add(number)
                time.sleep(0.2)
                continue
            document = response.json()
            # A 2xx names its status ("accepted", "held"), a problem its code.
            outcome = document.get("status") if response.status_code < 300 else document.get("code")
            answers[number] = (response.status_code, str(outcome))
            if response.status_code < 500:
                break
            time.sleep(min(5.0, float(response.headers.get("Retry-After", "1"))))
        posted.release()

    with ThreadPoolExecutor(max_workers=40) as pool:
        for number in range(ALERTS):
            pool.submit(send, number)
        if kill_after is not None:
            for _ in range(kill_after):
                posted.acquire()
            servers[0].kill()  # SIGKILL mid-storm: whatever it held in flight stays unsettled
            dead.add(0)
    return answers


def assert_storm_held(graph: FakeGraph, expected: set[str]) -> None:
    assert wait_until(lambda: expected <= named_alerts(graph.delivered), timeout_s=120), (
        f"{len(expected - named_alerts(graph.delivered))} alerts in no delivered mail"
    )
    time.sleep(1)  # anything still in flight would show now
    assert graph.blocked == [], "Exchange blocked the mailbox: mail lost behind a 202"
    assert recipients_of(graph.sent) <= BUDGET
    assert graph.concurrency_refusals == 0
    assert max(graph.max_concurrent_per_mailbox.values()) <= 4
    assert len(graph.sent) < 60, "a storm is a few mails, not one per alert"


@pytest.mark.parametrize("delivery", ["direct", "queue"])
def test_a_storm_through_four_instances_loses_nothing_and_floods_no_inbox(tmp_path: Path, delivery: str) -> None:
    graph = FakeGraph(default_delay_s=0.2, recipients_per_day=TENANT_RECIPIENTS_PER_DAY)
    with graph, storm_bridge(tmp_path, graph, delivery) as servers:
        answers = post_storm(servers)
        assert {status for status, _ in answers.values()} == {202}
        assert_storm_held(graph, {f"StormAlert{n:03d}" for n in range(ALERTS)})
        held = [n for n, (_, status) in answers.items() if status == "held"]
        if delivery == "direct":
            assert len(held) > ALERTS / 2, "past the pace, notifications are held for the digest"
        health = requests.get(f"{servers[1].base_url}/api/health", timeout=10).json()["mailboxLimits"]
        assert health["store"] == "table"
        assert health["highestUseLast24h"] == recipients_of(graph.sent), "every instance's sends, counted once"
        assert health["lastDigestAt"] is not None
        assert wait_until(lambda: held_count(servers[2]) == 0, timeout_s=30), "a sent digest's rows are removed"


def test_an_instance_killed_mid_storm_loses_nothing_held_and_frees_its_slots(tmp_path: Path) -> None:
    # Slow sends, so the killed instance dies holding send slots; their leases (deadline + 15 s) end.
    graph = FakeGraph(default_delay_s=1.0, recipients_per_day=TENANT_RECIPIENTS_PER_DAY)
    with graph, storm_bridge(tmp_path, graph, "direct", MAIL_SEND_DEADLINE_S="5") as servers:
        cut: set[int] = set()
        answers = post_storm(servers, kill_after=20, cut=cut)
        # Answered 2xx: sent or held, so it must reach a delivered mail. A request the kill cut
        # after it claimed its key is, on its sender's retry, answered as what it is: unknown (409)
        # or still in progress (503), never a 2xx.
        promised = {f"StormAlert{n:03d}" for n, (status, _) in answers.items() if status == 202}
        unknown = {n for n, (status, _) in answers.items() if status != 202}
        assert {answers[n][1] for n in unknown} <= {"outcome_unknown", "in_progress"}
        assert unknown <= cut, "only requests the killed instance dropped can end unknown"
        assert len(promised) + len(unknown) == ALERTS
        assert_storm_held(graph, promised)


def test_fake_exchange_would_have_blocked_the_unmetered_storm() -> None:
    """The test's own check can fail: what the storm costs without digests or a shared budget."""
    with FakeGraph(recipients_per_day=TENANT_RECIPIENTS_PER_DAY) as graph:
        body: dict[str, Any] = {"message": {"toRecipients": [{"emailAddress": {"address": a}} for a in RECIPIENTS]}}
        for _ in range(ALERTS):
            requests.post(
                f"{graph.base_url}/v1.0/users/bridge@contoso.com/sendMail",
                json=body,
                headers={"Authorization": "Bearer t"},
                timeout=5,
            )
        assert len(graph.blocked) == ALERTS - TENANT_RECIPIENTS_PER_DAY // len(RECIPIENTS)
