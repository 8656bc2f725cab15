"""One instance's share of a send storm, as a separate process: admit, "send" (sleep), settle.

Run as ``python -m tests.helpers.mailbox_sender CONNECTION MAILBOX SENDS RECIPIENTS HOLD_S
PER_DAY PER_MINUTE LEASE_S``; prints one JSON line per send: {"start", "end"} on
time.monotonic() (one clock for every process on this machine, which libfaketime leaves alone
with FAKETIME_DONT_FAKE_MONOTONIC=1), or {"refused": code}.
"""

from __future__ import annotations

import json
import select
import sys
import time
from typing import SupportsIndex

import requests

from shared.azure.storage import StorageClients
from shared.delivery.mailbox import MailboxRules, Purpose, admit_waiting
from shared.delivery.mailbox.table import TableMailboxLimits
from shared.problems import Deferred
from shared.settings.delivery import StorageConnection


def _sleep(seconds: float | SupportsIndex) -> None:
    select.select([], [], [], max(0.0, float(seconds)))


def main(argv: list[str]) -> None:
    # libfaketime, which skews this process's clock, breaks time.sleep on Python 3.11 (its absolute
    # clock_nanosleep fails with EINVAL when the monotonic clock is left real); select's timeout is
    # relative and unaffected. Only the sleeping is replaced: every clock reading stays the real call.
    time.sleep = _sleep
    connection, mailbox, sends, recipients, hold_s, per_day, per_minute, lease_s = argv
    rules = MailboxRules(
        recipients_per_day=int(per_day), digest_reserve=0, messages_per_minute=int(per_minute),
        slot_lease_s=float(lease_s), digests=False,
    )  # fmt: skip
    storage = StorageClients(StorageConnection(connection_string=connection), requests.Session())
    limits = TableMailboxLimits(storage, rules)
    for _ in range(int(sends)):
        try:
            permit = admit_waiting(limits, mailbox, int(recipients), Purpose.MAIL, wait_s=120)
        except Deferred as refused:
            print(json.dumps({"refused": refused.code}), flush=True)
            continue
        start = time.monotonic()
        time.sleep(float(hold_s))
        end = time.monotonic()
        limits.settle(permit, taken=True)
        print(json.dumps({"start": start, "end": end}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
