"""action.yml and examples/github-actions/notify-on-failure.yml, held against the script and run.

Actions runners are not available here, so the last test does what the runner would: it expands the
example step's ``with:`` expressions, applies action.yml's defaults and ``env:`` mapping, and runs
action.yml's ``run:`` script with bash against the dev server.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.support import (
    ACTION_YML,
    EXAMPLES,
    ROOT,
    Bridge,
    action_script,
    expand_expressions,
    load_yaml,
    read_outputs,
    recipients,
    running_bridge,
    workflow_commands,
)

mailhook_notify = action_script()

WORKFLOW = EXAMPLES / "github-actions" / "notify-on-failure.yml"
ACTION_REF = "contoso/mailhook@v1"  # this repository, as the example's comment says
REQUIRED_INPUTS = {"url", "function-key", "subject"}


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(ACTION_YML)
    return document


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(WORKFLOW)
    return document


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("bridge")) as running:
        yield running


def mail_step(workflow: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The steps of the job that uses the action, and the step that does."""
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses") == ACTION_REF:
                return job["steps"], step
    raise AssertionError(f"no step uses {ACTION_REF}")


def test_action_inputs_are_the_ones_the_script_reads(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == set(mailhook_notify.INPUTS)
    assert {name for name, spec in action["inputs"].items() if spec.get("required")} == REQUIRED_INPUTS
    for name, spec in action["inputs"].items():
        assert spec["description"].strip(), name
        if not spec.get("required"):
            assert isinstance(spec.get("default"), str), f"{name}: give optional inputs a string default"
    [step] = action["runs"]["steps"]
    # Every input reaches the script as its variable, and only through the environment (no
    # ${{ }} in the script text, where an input could inject shell code).
    assert step["env"] == {variable: f"${{{{ inputs.{name} }}}}" for name, variable in mailhook_notify.INPUTS.items()}
    assert "${{" not in step["run"]
    assert '"$GITHUB_ACTION_PATH/scripts/mailhook_notify.py"' in step["run"]
    assert step["shell"] == "bash"
    assert action["outputs"] == {
        mailhook_notify.OUTPUT_REQUEST_ID: {
            "description": action["outputs"]["request-id"]["description"],
            "value": f"${{{{ steps.{step['id']}.outputs.{mailhook_notify.OUTPUT_REQUEST_ID} }}}}",
        }
    }


def test_the_example_workflow_uses_the_action_with_its_documented_inputs(
    action: dict[str, Any], workflow: dict[str, Any]
) -> None:
    steps, step = mail_step(workflow)
    given = set(step["with"])
    assert given <= set(action["inputs"]), sorted(given - set(action["inputs"]))
    assert given >= REQUIRED_INPUTS, sorted(REQUIRED_INPUTS - given)
    assert step["if"] == "failure()", "it mails when an earlier step of the job failed"
    assert step["with"]["function-key"] == "${{ secrets.MAILHOOK_FUNCTION_KEY }}", "the key comes from a secret"
    assert "${{ github.run_id }}" in step["with"]["body"], "the mail links to the run"
    # The files it attaches are the ones an earlier step writes.
    earlier_runs = "\n".join(s.get("run", "") for s in steps[: steps.index(step)])
    assert "test-output/test.log" in earlier_runs
    assert step["with"]["attachments"].strip() == "test-output/*.log"


def test_the_example_workflow_step_mails_through_the_bridge(
    action: dict[str, Any], workflow: dict[str, Any], bridge: Bridge, tmp_path: Path
) -> None:
    key = "example-workflow-function-key"
    context = {
        "vars.MAILHOOK_URL": bridge.base_url,
        "secrets.MAILHOOK_FUNCTION_KEY": key,
        "vars.TEAM_EMAIL": "webshop-team@contoso.com",
        "github.workflow": "CI",
        "github.ref_name": "main",
        "github.repository": "contoso/webshop",
        "github.server_url": "https://github.com",
        "github.run_id": "9104411221",
        "github.sha": "4b1c9f0e2d7a6b5c3e8f9a0b1c2d3e4f5a6b7c8d",
        "github.actor": "octocat",
    }
    _, step = mail_step(workflow)
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update({name: expand_expressions(str(value), context) for name, value in step["with"].items()})
    [action_step] = action["runs"]["steps"]
    step_env = {
        variable: expand_expressions(value, {f"inputs.{name}": text for name, text in inputs.items()})
        for variable, value in action_step["env"].items()
    }
    workspace = tmp_path / "workspace"
    (workspace / "test-output").mkdir(parents=True)
    (workspace / "test-output" / "test.log").write_text("FAILED tests/test_cart.py::test_total\n")
    output_file = tmp_path / "github-output"
    output_file.touch()
    completed = subprocess.run(
        ["bash", "-e", "-c", action_step["run"]],  # the runner runs `shell: bash` steps with -e
        cwd=workspace,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("MAILHOOK_", "GITHUB_"))},
            **step_env,
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_WORKSPACE": str(workspace),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    request_id = read_outputs(output_file)["request-id"]
    message = bridge.sent(request_id)["message"]
    assert message["subject"] == "[CI failed] CI on main (contoso/webshop)"
    assert recipients(message, "toRecipients") == ["webshop-team@contoso.com"]
    assert message["importance"] == "high"
    assert "Run:    https://github.com/contoso/webshop/actions/runs/9104411221" in message["body"]["content"]
    [attachment] = message["attachments"]
    assert attachment["name"] == "test.log"
    assert base64.b64decode(attachment["contentBytes"]) == b"FAILED tests/test_cart.py::test_total\n"
    assert workflow_commands(completed.stdout) == [f"::add-mask::{key}"]
    assert key not in completed.stdout.replace(f"::add-mask::{key}", "")
