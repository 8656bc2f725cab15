"""schemathesis against the dev server: every generated request gets a documented answer, never a 5xx.

The dev server runs as a user runs it, with the outbox transport, so nothing leaves the machine, and
schemathesis reads the server's own /api/openapi.json. It runs as its CLI, `st run`, which has all
the phases (the coverage phase sends the edge cases: missing bodies, wrong media types, other
methods, boundary values); its pytest plugin does not work with pytest 9.2 (it sets
`Function._nodeid`, which pytest 9.2 removed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.devserver import devserver, write_settings

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
            "MAIL_MAILBOX_MESSAGES_PER_MINUTE": "10000",
        },
    )
    with devserver(settings_file, {}) as base_url:
        report, output = run_schemathesis(base_url, tmp_path)

    # mail, hooks, health and status: schemathesis leaves out the operation that serves the schema it
    # read (GET /api/openapi.json); tests/endpoints/test_openapi.py checks that one against its schema.
    assert report["operations"]["tested"] == 4, output
    # Each failure names the request (as curl), the answer and the check it broke.
    assert (report["failures"], report["errors"]) == ([], []), output
    assert report["exit_code"] == 0, output
    assert report["test_cases"]["generated"] >= 300, output
    # Schema-valid bodies got through to the transport: the contract is not only about refusals.
    assert any(outbox.glob("*.eml")), output
