"""azure.yaml and the scripts azd runs around a deploy: the azd version, the post-deploy health
wait, the grant script's retries while Entra ID replicates a new identity.

The shell scripts run for real here: the health wait against a local HTTP server that plays the
app's /api/health, the grant script against a fake `az` on PATH. The PowerShell twin of the health
wait cannot run without pwsh, so it is only checked to read the same settings and say the same things.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import azure.functions as func
import pytest
import yaml
from pycep import BicepParser

from shared import runtime as runtime_module
from shared.endpoints.health import handle_health
from tests.helpers.infra_tools import find_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURE_YAML = REPO_ROOT / "azure.yaml"
FUNCIGNORE = REPO_ROOT / ".funcignore"
SCRIPTS = REPO_ROOT / "infra" / "scripts"
HEALTH_SH = SCRIPTS / "wait-for-health.sh"
HEALTH_PS1 = SCRIPTS / "wait-for-health.ps1"
GRANT_SH = SCRIPTS / "grant-mail-send.sh"
MAIN_BICEP = REPO_ROOT / "infra" / "main.bicep"

# The script's own optional settings (azd env set); everything else it reads must come from azd.
HOOK_SETTINGS = {"MAILHOOK_HEALTH_WAIT_S", "MAILHOOK_HEALTH_INTERVAL_S"}


@pytest.fixture(scope="module")
def azure_yaml() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(AZURE_YAML.read_text()))


@pytest.fixture(scope="module")
def main_outputs() -> set[str]:
    tree = BicepParser().parse(file_path=MAIN_BICEP)
    return set(tree["outputs"])


# ---- the azd version ------------------------------------------------------------


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def satisfies(candidate: str, constraint: str) -> bool:
    """azd's requiredVersions range (space-separated comparisons, all must hold)."""
    compare = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
        "!=": lambda a, b: a != b,
        "=": lambda a, b: a == b,
    }
    terms = re.findall(r"(>=|<=|!=|>|<|=)\s*(\d+\.\d+\.\d+)", constraint)
    assert terms and re.sub(r"(>=|<=|!=|>|<|=)\s*\d+\.\d+\.\d+|\s", "", constraint) == "", constraint
    return all(compare[op](version(candidate), version(bound)) for op, bound in terms)


@pytest.mark.parametrize(
    ("candidate", "allowed"),
    [
        ("1.17.2", False),  # zips node_modules and .venv: ignores .funcignore (Azure/azure-dev#1039)
        ("1.18.0", False),  # honours .funcignore, but pastes MAIL_ROUTES' JSON into an object parameter
        ("1.23.3", False),
        ("1.23.4", True),  # object parameters from environment variables (Azure/azure-dev#6694)
        ("1.23.9", False),  # local preflight broke on ARM expression strings (Azure/azure-dev#7157)
        ("1.23.10", True),
        ("1.23.13", True),
        ("2.0.0", True),
    ],
)
def test_azd_version_range(azure_yaml: dict[str, Any], candidate: str, allowed: bool) -> None:
    assert set(azure_yaml["requiredVersions"]) == {"azd"}
    assert satisfies(candidate, azure_yaml["requiredVersions"]["azd"]) is allowed


def test_funcignore_keeps_the_package_small_in_every_allowed_azd() -> None:
    # azd before 1.23.13 mishandled a UTF-8 BOM and negation patterns in .funcignore
    # (Azure/azure-dev#7311): the range above allows those versions, so neither may appear.
    raw = FUNCIGNORE.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), ".funcignore starts with a UTF-8 BOM"
    lines = [line.strip() for line in raw.decode("utf-8").splitlines()]
    negations = [line for line in lines if line.startswith("!")]
    assert not negations, f"negation patterns need azd >= 1.23.13 in azure.yaml: {negations}"
    # What made the package 186 MB before azd read .funcignore; a remote build installs the rest.
    assert {"node_modules/", ".venv/", "local.settings.json"} <= set(lines)


# ---- hooks ------------------------------------------------------------------------


def test_postdeploy_hook_runs_the_health_wait_on_both_shells(azure_yaml: dict[str, Any]) -> None:
    postdeploy = azure_yaml["hooks"]["postdeploy"]
    assert postdeploy["posix"] == {"shell": "sh", "run": "infra/scripts/wait-for-health.sh"}
    assert postdeploy["windows"] == {"shell": "pwsh", "run": "infra/scripts/wait-for-health.ps1"}
    # A failed wait fails `azd up`: nothing may turn that into a warning.
    assert "continueOnError" not in postdeploy["posix"] and "continueOnError" not in postdeploy["windows"]
    assert os.access(HEALTH_SH, os.X_OK), "wait-for-health.sh is not executable"
    assert HEALTH_PS1.is_file()


def environment_names(text: str) -> set[str]:
    """Upper-case variables a sh or pwsh script reads: $NAME, ${NAME...}, $env:NAME."""
    return set(re.findall(r"\$(?:env:|\{)?([A-Z][A-Z0-9_]+)", text))


def test_hooks_read_only_outputs_of_main_bicep(azure_yaml: dict[str, Any], main_outputs: set[str]) -> None:
    texts = [HEALTH_SH.read_text(), HEALTH_PS1.read_text()]
    texts += [hook["run"] for hook in azure_yaml["hooks"]["postprovision"].values()]
    read = set().union(*(environment_names(text) for text in texts)) - HOOK_SETTINGS
    assert {"FUNCTION_BASE_URL", "AZURE_FUNCTION_APP_NAME", "AZURE_RESOURCE_GROUP", "GRAPH_AUTH"} <= read
    assert read <= main_outputs, f"hooks read variables azd never sets: {sorted(read - main_outputs)}"


def test_health_wait_scripts_say_the_same_things() -> None:
    sh, ps1 = HEALTH_SH.read_text(), HEALTH_PS1.read_text()
    for text in (sh, ps1):
        assert environment_names(text) >= HOOK_SETTINGS
        assert "/api/health" in text
        assert "az functionapp restart -g" in text
        assert "infra/scripts/grant-mail-send.sh" in text
        assert "azd hooks run postdeploy" in text
    defaults = r"MAILHOOK_HEALTH_WAIT_S\b.*?\b180\b"
    assert re.search(defaults, sh) and re.search(defaults, ps1)
    assert re.search(r"MAILHOOK_HEALTH_INTERVAL_S:-10\b", sh) and re.search(r"\} else \{ 10 \}", ps1)


def test_health_wait_passes_shellcheck() -> None:
    # As sh (its shebang): azd runs `shell: sh` hooks with sh. test_bicep checks the grant script.
    shellcheck = find_tool("shellcheck", "SHELLCHECK")
    completed = subprocess.run([shellcheck, str(HEALTH_SH)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


# ---- the health wait, against a fake /api/health ----------------------------------


@dataclass
class FakeHealth:
    """Answers /api/health with the scripted (status, body) pairs, repeating the last one."""

    answers: list[tuple[int, dict[str, Any]]]
    requests: list[str] = field(default_factory=list)

    def answer(self, path: str) -> tuple[int, bytes, str]:
        self.requests.append(path)
        status, document = self.answers[min(len(self.requests), len(self.answers)) - 1]
        mimetype = "application/problem+json" if status >= 400 else "application/json"
        return status, json.dumps(document).encode(), mimetype


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(fake: FakeHealth) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, payload, mimetype = fake.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", mimetype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def health_answer(environ: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """What the app's own /api/health answers with these app settings (not a hand-made copy of it)."""
    request = func.HttpRequest(method="GET", url="http://localhost/api/health", headers={}, params={}, body=b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime_module, "_runtime", None)
        patch.setattr(os, "environ", environ)
        response = handle_health(request)
    return response.status_code, json.loads(response.get_body())


HEALTHY = health_answer({"MAIL_SENDER": "bridge@contoso.com"})
UNRESOLVED = health_answer(
    {"MAIL_SENDER": "bridge@contoso.com", "HOOK_BEARER_TOKEN": "@Microsoft.KeyVault(SecretUri=https://kv/secrets/x)"}
)
NOT_INDEXED: tuple[int, dict[str, Any]] = (404, {})


def run_health_wait(base_url: str | None, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "AZURE_FUNCTION_APP_NAME": "func-abc",
        "AZURE_RESOURCE_GROUP": "rg-prod",
        "GRAPH_AUTH": "managedIdentity",
        "MAILHOOK_HEALTH_WAIT_S": "3",
        "MAILHOOK_HEALTH_INTERVAL_S": "1",
        **settings,
    }
    if base_url is not None:
        environment["FUNCTION_BASE_URL"] = base_url
    # azd runs a `shell: sh` hook with sh: no bashisms.
    return subprocess.run(
        ["sh", str(HEALTH_SH)], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_health_wait_reports_each_problem_until_the_app_is_healthy(serve: Any) -> None:
    fake = FakeHealth([NOT_INDEXED, UNRESOLVED, HEALTHY])
    completed = run_health_wait(serve(fake))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert fake.requests == ["/api/health"] * 3
    out = completed.stdout
    assert "Attempt 1/3: HTTP 404, the app is not answering yet." in out
    assert "Attempt 2/3: 503 configuration_invalid: The bridge is not configured correctly" in out
    assert "  HOOK_BEARER_TOKEN: its Key Vault reference did not resolve" in out
    assert "Healthy:" in out
    assert "infra/scripts/grant-mail-send.sh" in out


def test_health_wait_gives_up_and_says_how_to_restart(serve: Any) -> None:
    fake = FakeHealth([UNRESOLVED])
    completed = run_health_wait(serve(fake))
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert len(fake.requests) == 3  # MAILHOOK_HEALTH_WAIT_S / MAILHOOK_HEALTH_INTERVAL_S: bounded
    assert "did not become healthy within 3s" in completed.stderr
    assert "az functionapp restart -g rg-prod -n func-abc" in completed.stderr
    assert "grant-mail-send.sh" not in completed.stdout  # no next step before the app works


def test_health_wait_survives_an_app_that_does_not_answer() -> None:
    # Nothing listens there: curl fails, the script counts it as "not answering yet".
    completed = run_health_wait("http://127.0.0.1:9", MAILHOOK_HEALTH_WAIT_S="2")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Attempt 2/2: HTTP 000, the app is not answering yet." in completed.stdout
    assert "curl -i http://127.0.0.1:9/api/health" in completed.stderr


def test_health_wait_can_be_skipped(serve: Any) -> None:
    fake = FakeHealth([HEALTHY])
    completed = run_health_wait(serve(fake), MAILHOOK_HEALTH_WAIT_S="0")
    assert completed.returncode == 0
    assert fake.requests == []


def test_health_wait_needs_the_provisioned_url() -> None:
    completed = run_health_wait(None)
    assert completed.returncode == 1
    assert "FUNCTION_BASE_URL is not set" in completed.stderr


def test_health_wait_names_the_next_step_for_client_secret_auth(serve: Any) -> None:
    completed = run_health_wait(serve(FakeHealth([HEALTHY])), GRAPH_AUTH="clientSecret")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "grant-mail-send.sh" not in completed.stdout
    assert "app registration has the Mail.Send application permission" in completed.stdout


# ---- the grant script, against a fake az ------------------------------------------

PRINCIPAL = "11111111-2222-3333-4444-555555555555"
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
NOT_REPLICATED = (
    'ERROR: Not Found({"error":{"code":"Request_ResourceNotFound","message":"Resource '
    f"'{PRINCIPAL}' does not exist or one of its queried reference-property objects are not present.\"}}}})"
)
FORBIDDEN = (
    'ERROR: Forbidden({"error":{"code":"Authorization_RequestDenied",'
    '"message":"Insufficient privileges to complete the operation."}})'
)

FAKE_AZ = """\
import json, os, sys
from pathlib import Path

state_path = Path(os.environ["FAKE_AZ_STATE"])
state = json.loads(state_path.read_text())
args = sys.argv[1:]
option = lambda name: args[args.index(name) + 1] if name in args else ""
method, path, query = option("--method"), option("--url").split("/v1.0", 1)[1], option("--query")
state["calls"].append(f"{method} {path}")
failure = state["failures"].get(f"{method} {path}")
if failure and failure["times"] > 0:
    failure["times"] -= 1
    state_path.write_text(json.dumps(state))
    sys.stderr.write(failure["message"] + "\\n")
    sys.exit(1)
state_path.write_text(json.dumps(state))
if method == "GET" and path.endswith("/appRoleAssignments"):
    print(state["assignment"])
elif method == "GET" and path.startswith("/servicePrincipals(appId="):
    print("role-mail-send" if "appRoles" in query else "graph-sp")
elif method == "GET":
    print("id-mailhook")
"""


def run_grant(tmp_path: Path, failures: dict[str, dict[str, Any]], *args: str) -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake_az = bin_dir / "az"
    fake_az.write_text(f"#!{sys.executable}\n{FAKE_AZ}")
    fake_az.chmod(0o755)
    state = tmp_path / "az-state.json"
    state.write_text(json.dumps({"calls": [], "failures": failures, "assignment": ""}))
    environment = {
        # No azd on this PATH: the script must not reach a real environment.
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_AZ_STATE": str(state),
        "MAILHOOK_GRANT_RETRY_DELAY_S": "0",
        "MAILHOOK_GRANT_RETRIES": "4",
    }
    completed = subprocess.run(
        ["bash", str(GRANT_SH), "--principal-id", PRINCIPAL, "--cloud", "global", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = cast(list[str], json.loads(state.read_text())["calls"])
    return completed.returncode, completed.stdout + completed.stderr, calls


def test_grant_retries_while_entra_replicates_the_new_identity(tmp_path: Path) -> None:
    failures = {
        f"GET /servicePrincipals/{PRINCIPAL}": {"times": 2, "message": NOT_REPLICATED},
        f"POST /servicePrincipals/{PRINCIPAL}/appRoleAssignments": {"times": 1, "message": NOT_REPLICATED},
    }
    returncode, output, calls = run_grant(tmp_path, failures)
    assert returncode == 0, output
    assert calls.count(f"GET /servicePrincipals/{PRINCIPAL}") == 3
    assert calls.count(f"POST /servicePrincipals/{PRINCIPAL}/appRoleAssignments") == 2
    assert output.count("Entra ID replication") == 3
    assert "Granted Mail.Send tenant-wide." in output


def test_grant_stops_at_once_on_a_permission_error(tmp_path: Path) -> None:
    failures = {f"POST /servicePrincipals/{PRINCIPAL}/appRoleAssignments": {"times": 9, "message": FORBIDDEN}}
    returncode, output, calls = run_grant(tmp_path, failures)
    assert returncode != 0
    assert calls.count(f"POST /servicePrincipals/{PRINCIPAL}/appRoleAssignments") == 1
    assert "Insufficient privileges" in output
    assert "Entra ID replication" not in output


def test_grant_gives_up_after_the_bounded_retries(tmp_path: Path) -> None:
    failures = {f"GET /servicePrincipals/{PRINCIPAL}": {"times": 99, "message": NOT_REPLICATED}}
    returncode, output, calls = run_grant(tmp_path, failures)
    assert returncode != 0
    assert calls == [f"GET /servicePrincipals/{PRINCIPAL}"] * 4  # MAILHOOK_GRANT_RETRIES
    assert "Request_ResourceNotFound" in output


def test_grant_dry_run_changes_nothing(tmp_path: Path) -> None:
    returncode, output, calls = run_grant(tmp_path, {}, "--dry-run")
    assert returncode == 0, output
    assert "Dry run: would grant Mail.Send." in output
    assert not [call for call in calls if not call.startswith("GET ")]
    assert f"GET /servicePrincipals(appId='{GRAPH_APP}')" in calls


def test_grant_with_mail_read_write_grants_both_permissions(tmp_path: Path) -> None:
    # The draft send method creates, reads and deletes drafts: Mail.ReadWrite besides Mail.Send.
    returncode, output, calls = run_grant(tmp_path, {}, "--with-mail-read-write")
    assert returncode == 0, output
    assert calls.count(f"POST /servicePrincipals/{PRINCIPAL}/appRoleAssignments") == 2
    assert "Granted Mail.Send tenant-wide." in output
    assert "Granted Mail.ReadWrite tenant-wide." in output
    returncode, output, calls = run_grant(tmp_path, {})
    assert calls.count(f"POST /servicePrincipals/{PRINCIPAL}/appRoleAssignments") == 1
    assert "Mail.ReadWrite" not in output
