"""Mailbox limits in Table storage (Azurite): atomic across threads, processes and skewed clocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from shared.azure.storage import StorageClients
from shared.delivery.mailbox import (
    MailboxLimitsUnavailable,
    MailboxRules,
    Permit,
    Purpose,
    RecipientBudgetExhausted,
)
from shared.delivery.mailbox.table import TableMailboxLimits
from shared.settings.delivery import StorageConnection
from tests.helpers.devserver import ROOT
from tests.helpers.processes import free_port


def table_limits(connection: str, **rules: Any) -> TableMailboxLimits:
    chosen = {
        "recipients_per_day": 100, "digest_reserve": 0, "messages_per_minute": 10_000, "slot_lease_s": 30,
        "digests": False, **rules,
    }  # fmt: skip
    storage = StorageClients(StorageConnection(connection_string=connection), requests.Session())
    return TableMailboxLimits(storage, MailboxRules(**chosen))


def mailbox() -> str:
    return f"storm-{uuid.uuid4().hex[:8]}@contoso.com"


def test_concurrent_reservations_never_pass_the_budget(azurite: str) -> None:
    """The measured case: 10 concurrent mails of 20 recipients on a budget of 100 put 200 through."""
    limits, sender = table_limits(azurite, send_slots=10), mailbox()

    def reserve(_: int) -> Permit | str:
        try:
            return limits.admit(sender, 20, Purpose.MAIL)
        except RecipientBudgetExhausted as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(reserve, range(10)))
    admitted = [outcome for outcome in outcomes if isinstance(outcome, Permit)]
    assert len(admitted) == 5
    assert outcomes.count("recipient_budget_exhausted") == 5
    [usage] = [usage for usage in limits.usage() if usage.mailbox == sender]
    assert (usage.recipients_used, usage.in_flight) == (100, 5)
    for permit in admitted[:2]:
        limits.settle(permit, taken=False)  # Graph refused these two: their recipients come back
    [usage] = [usage for usage in limits.usage() if usage.mailbox == sender]
    assert (usage.recipients_used, usage.in_flight) == (60, 3)


def sender_processes(
    azurite: str, sender: str, *, skews: list[str], sends: int, **options: str
) -> list[dict[str, Any]]:
    """Run one mailbox_sender per skew ('' = this machine's clock, '+90s' = 90 s ahead) at once."""
    arguments = [
        azurite, sender, str(sends), options.get("recipients", "1"), options.get("hold_s", "0.3"),
        options.get("per_day", "10000"), options.get("per_minute", "10000"), options.get("lease_s", "30"),
    ]  # fmt: skip
    environ = {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "PYTHONPATH": str(ROOT)}
    processes = []
    for skew in skews:
        command = [sys.executable, "-m", "tests.helpers.mailbox_sender", *arguments]
        if skew:
            command = ["faketime", "-f", skew, *command]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, text=True))
    records = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0
        records += [json.loads(line) for line in output.splitlines()]
    return records


def most_at_once(records: list[dict[str, Any]]) -> int:
    starts = [(record["start"], 1) for record in records if "start" in record]
    events = sorted(starts + [(record["end"], -1) for record in records if "end" in record])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


needs_faketime = pytest.mark.skipif(shutil.which("faketime") is None, reason="needs libfaketime (.ci/run installs it)")


@needs_faketime
def test_four_processes_with_skewed_clocks_never_have_more_than_four_sends_in_flight(azurite: str) -> None:
    # Two instances' clocks run 90 s and 45 s off: longer than a slot's 30 s lease, so on their own
    # clocks the others' slots would look expired and more than 4 sends would go at once.
    records = sender_processes(azurite, mailbox(), skews=["", "+90s", "+90s", "-45s", ""], sends=8, hold_s="1")
    assert len([r for r in records if "start" in r]) == 40
    assert most_at_once(records) == 4


@needs_faketime
def test_the_budget_holds_across_processes_with_skewed_clocks(azurite: str) -> None:
    # One clock a day and an hour ahead: on it every reservation the others made has left the window.
    records = sender_processes(
        azurite, mailbox(), skews=["", "+90000s", "-600s", ""], sends=10, recipients="5", hold_s="0", per_day="100"
    )
    assert len([r for r in records if "start" in r]) == 20, "exactly 100 recipients' worth, whatever the clocks"
    assert [r["refused"] for r in records if "refused" in r] == ["recipient_budget_exhausted"] * 20


def test_unreachable_storage_refuses_rather_than_sending_unmetered() -> None:
    port = free_port()
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    limits = table_limits(connection)
    with pytest.raises(MailboxLimitsUnavailable) as refused:
        limits.admit(mailbox(), 1, Purpose.MAIL)
    assert refused.value.status == 503
    assert refused.value.headers["Retry-After"] == "5"
