"""schemathesis against the dev server: every generated request gets a documented answer, never a 5xx.

The dev server runs as a user runs it, with the outbox transport, so nothing leaves the machine, and
schemathesis reads the server's own /api/openapi.json. It runs as its CLI, `st run`, which has all
the phases (the coverage phase sends the edge cases: missing bodies, wrong media types, other
methods, boundary values); its pytest plugin does not work with pytest 9.2 (it sets
`Function._nodeid`, which pytest 9.2 removed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.helpers.devserver import ROOT, free_port, write_settings

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# Per operation and phase: about 900 requests in all, 10 to 20 seconds against the dev server.
MAX_EXAMPLES = 100
RUN_TIMEOUT_S = 150


@contextmanager
def quiet_devserver(settings_file: Path, log_file: Path) -> Iterator[str]:
    """tests/helpers/devserver.py's devserver(), with the server's output in a file.

    That helper reads the output only when the server stops: the log lines of a thousand requests
    fill the pipe first and the server blocks on its next one. (Until the helper writes to a file.)
    """
    port = free_port()
    ours = ("MAIL_", "GRAPH_", "AZURE_", "IDENTITY_", "HOOK_", "GITHUB_", "GRAFANA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    server = str(ROOT / "scripts" / "devserver.py")
    command = [sys.executable, server, "--port", str(port), "--settings", str(settings_file)]
    with log_file.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base_url}/api/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, log_file.read_text()
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_schemathesis(base_url: str, workdir: Path) -> tuple[dict[str, Any], str]:
    """`st run` against the server; its JSON run report and its console output."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/api/openapi.json",
        "--checks", ",".join(CHECKS),
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--continue-on-failure",
        "--suppress-health-check", "all",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--report", "json",
        "--report-json-path", str(workdir / "report.json"),
        "--no-color",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    output = result.stdout + result.stderr
    report_path = workdir / "report.json"
    assert report_path.is_file(), f"schemathesis did not run:\n{output}"
    report: dict[str, Any] = json.loads(report_path.read_text())
    return report, output


def test_every_generated_request_gets_a_documented_answer(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings_file = write_settings(
        tmp_path / "local.settings.json",
        {
            "MAIL_TRANSPORT": "outbox",
            "MAIL_OUTBOX_DIR": str(outbox),
            "MAIL_SENDER": "bridge@contoso.com",
            "MAIL_DEFAULT_TO": "oncall@contoso.com",
            # Hundreds of requests from one caller: the abuse limits have tests of their own.
            "MAIL_RATE_LIMIT_PER_MINUTE": "0",
        },
    )
    with quiet_devserver(settings_file, tmp_path / "devserver.log") as base_url:
        report, output = run_schemathesis(base_url, tmp_path)

    # mail, hooks and health: schemathesis leaves out the operation that serves the schema it read
    # (GET /api/openapi.json); tests/endpoints/test_openapi.py checks that one against its schema.
    assert report["operations"]["tested"] == 3, output
    # Each failure names the request (as curl), the answer and the check it broke.
    assert (report["failures"], report["errors"]) == ([], []), output
    assert report["exit_code"] == 0, output
    assert report["test_cases"]["generated"] >= 300, output
    # Schema-valid bodies got through to the transport: the contract is not only about refusals.
    assert any(outbox.glob("*.eml")), output
