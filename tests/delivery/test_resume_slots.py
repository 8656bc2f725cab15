"""Resumed draft sends hold a mailbox send slot like any send, across instances (processes on one Azurite).

Outlook allows an app 4 concurrent requests per mailbox
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits); the send slots in Table
storage keep that across instances. A resume is not charged to the budget again (its first attempt was),
but it does send, so it takes a slot: several instances resuming and sending at once never put more than
4 requests in flight at Graph, which the fake Graph counts (``max_concurrent_per_mailbox``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func

from shared.delivery.transports.graph_drafts import REQUEST_ID_PROPERTY, SETTLE_LOOKS
from shared.endpoints.mail import handle_mail
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph, Fault
from tests.helpers.app import mail_request, response_json
from tests.helpers.devserver import ROOT

PROCESSES = 3
RESUMES_PER_PROCESS = 4
SENDS_PER_PROCESS = 2


def instances(settings: dict[str, str], jobs_per_process: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
    """Run one tests.helpers.draft_sender per job list, all starting their sends at the same moment."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.helpers.draft_sender"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in jobs_per_process
    ]
    for process, jobs in zip(processes, jobs_per_process, strict=True):
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps({"settings": settings, "jobs": jobs}) + "\n")
        process.stdin.flush()
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0
        results += [json.loads(line) for line in output.splitlines()]
    return results


def test_resumes_and_sends_from_several_instances_never_pass_the_mailbox_concurrency(
    mi_runtime: RuntimeFactory, graph: FakeGraph, azurite: str
) -> None:
    graph.tracked_property = REQUEST_ID_PROPERTY
    sender = f"resume-{uuid.uuid4().hex[:8]}@contoso.com"  # a ledger of its own in the shared Azurite
    settings = {"MAIL_SEND_METHOD": "draft", "AzureWebJobsStorage": azurite, "MAIL_SENDER": sender,
                "GRAPH_BASE_URL": graph.base_url}  # fmt: skip
    runtime = mi_runtime(**settings)
    unknown = [f"unknown-{number}" for number in range(PROCESSES * RESUMES_PER_PROCESS)]
    # Each first attempt's /send never reaches Graph and Graph cannot be asked: unknown, its draft left.
    cut: list[Fault | None] = ["cut_before"]
    graph.inject("send", *cut * len(unknown))
    graph.inject("get", *cut * (SETTLE_LOOKS * len(unknown)))

    def first_attempt(key: str) -> int:
        return int(send(runtime, key).status_code)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(first_attempt, unknown)) == [504] * len(unknown)
    assert graph.mails == [] and len(graph.drafts()) == len(unknown)

    graph.default_delay_s = 0.5  # every Graph request takes a while, so concurrent ones overlap
    jobs = [
        [{"key": key, "subject": key} for key in unknown[number::PROCESSES]]
        + [{"key": f"fresh-{number}-{send}", "subject": f"fresh-{number}-{send}"} for send in range(SENDS_PER_PROCESS)]
        for number in range(PROCESSES)
    ]
    results = instances(settings, jobs)
    statuses = {result["key"]: (result["status"], json.loads(result["body"]).get("status")) for result in results}
    assert all(status == (202, "accepted") for status in statuses.values()), statuses
    subjects = sorted(mail.message["subject"] for mail in graph.mails)
    assert subjects == sorted(job["subject"] for process_jobs in jobs for job in process_jobs), "each exactly once"
    assert graph.max_concurrent_per_mailbox[sender] <= 4, graph.max_concurrent_per_mailbox
    assert graph.concurrency_refusals == 0
    assert response_json(send(runtime, unknown[0]))["status"] == "duplicate"


def send(runtime: Runtime, key: str) -> func.HttpResponse:
    payload = {"to": "ops@contoso.com", "subject": key, "text": "resumed or not"}
    return handle_mail(mail_request(payload, headers={"Idempotency-Key": key}), runtime)
