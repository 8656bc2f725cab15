"""One instance of the bridge as a separate process: sends and resumed sends through /api/mail at once.

Run as ``python -m tests.helpers.draft_sender`` with a JSON document on standard input:
``{"settings": {...app settings...}, "jobs": [{"key": ..., "subject": ...}, ...]}``. It builds its
runtime, prints ``ready``, waits for a line (so every process starts sending at the same moment),
then sends every job at once (one thread each) and prints one JSON line per job:
``{"key", "status", "body"}``. The fake Graph and Azurite are the parent's; the managed identity
is found through the environment, as in the Functions host.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.endpoints.mail import handle_mail
from shared.runtime import build_runtime
from tests.helpers.app import mail_request, settings_from


def main() -> None:
    document = json.loads(sys.stdin.readline())
    runtime = build_runtime(settings_from(**document["settings"]))
    jobs: list[dict[str, Any]] = document["jobs"]
    print("ready", flush=True)
    sys.stdin.readline()

    def send(job: dict[str, Any]) -> dict[str, Any]:
        payload = {"to": "ops@contoso.com", "subject": job["subject"], "text": "resumed or not"}
        response = handle_mail(mail_request(payload, headers={"Idempotency-Key": job["key"]}), runtime)
        return {"key": job["key"], "status": response.status_code, "body": response.get_body().decode()}

    with ThreadPoolExecutor(len(jobs)) as pool:
        for result in pool.map(send, jobs):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
