"""host.json and local.settings.sample.json as the Functions host and Core Tools read them.

The schemas are SchemaStore's (tests/data/schemas), which are lax in places (local.settings.json's
Values may be any JSON there, while Core Tools requires strings), so the stricter rules Core Tools
applies are checked here as well.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

from shared.settings import TransportKind, load_settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "data" / "schemas"


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def test_host_json_matches_the_schema() -> None:
    schema = load(SCHEMAS / "host.json.schema.json")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [error.message for error in validator.iter_errors(load(ROOT / "host.json"))]
    assert errors == []


def test_host_json_schema_check_can_fail() -> None:
    schema = load(SCHEMAS / "host.json.schema.json")
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert not validator.is_valid({**load(ROOT / "host.json"), "functionTimeout": "48:00:00"})


def test_host_json_keeps_the_api_route_prefix_and_bundle() -> None:
    host = load(ROOT / "host.json")
    assert host["extensions"]["http"]["routePrefix"] == "api"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"


def test_local_settings_sample_matches_the_schema_and_core_tools_rules() -> None:
    sample = load(ROOT / "local.settings.sample.json")
    schema = load(SCHEMAS / "local.settings.schema.json")
    jsonschema.validators.validator_for(schema)(schema).validate(sample)
    assert set(sample) <= {"IsEncrypted", "Values", "Host", "ConnectionStrings"}
    assert sample["IsEncrypted"] is False
    assert all(isinstance(value, str) for value in sample["Values"].values()), "Core Tools needs string values"
    assert sample["Values"]["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert sample["Host"]["LocalHttpPort"] == 7071


def test_local_settings_sample_is_a_valid_outbox_configuration() -> None:
    values = load(ROOT / "local.settings.sample.json")["Values"]
    settings = load_settings(values)
    assert settings.delivery.transport is TransportKind.OUTBOX, "the first run needs no Azure account"


def test_local_settings_json_is_never_committed_nor_deployed() -> None:
    assert "local.settings.json" in (ROOT / ".gitignore").read_text().split()
    assert "local.settings.json" in (ROOT / ".funcignore").read_text().split()


def test_make_run_installs_only_the_runtime_requirements(tmp_path: Path) -> None:
    # A first `make run` must not wait for the dev tools (issue: 67 s before serving). `make -n`
    # prints what a fresh clone would run, without running it.
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "local.settings.sample.json"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    planned = subprocess.run(["make", "-n", "run"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "-r requirements.txt" in planned
    assert "requirements-dev.txt" not in planned
    assert "scripts/devserver.py" in planned
    tested = subprocess.run(["make", "-n", "lint"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "-r requirements-dev.txt" in tested
