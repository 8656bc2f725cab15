"""Checks on infra/: every Bicep file parses, the properties that matter hold, checkov passes.

There is no Bicep CLI here, so the files are parsed with pycep-parser 0.5.1, the
version checkov 3.3.30 pins (checkov alone skips a file it cannot parse and still
exits 0). pycep turns a Bicep file into a dict; a reference to a parameter,
variable or loop item appears as its bare name, which `resolve` follows.

checkov cannot share the main .venv (it pins packaging<24, pytest 9 needs
packaging>=24), so it runs as a subprocess from .venv-infra. A missing checkov
or shellcheck fails the tests: CI installs both (requirements-infra.txt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from lark.exceptions import LarkError  # pycep's grammar engine; its parse errors
from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
MAIN_BICEP = INFRA_DIR / "main.bicep"
GRANT_SCRIPT = INFRA_DIR / "scripts" / "grant-mail-send.sh"
INFRA_VENV_BIN = REPO_ROOT / ".venv-infra" / "bin"

EXPECTED_MODULES = {"identity", "storage", "monitoring", "rbac", "keyvault", "api"}

# Built-in role definition IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}

# Settings the app reads that must exist in Azure. GRAPH_BASE_URL, AZURE_AUTHORITY_HOST
# and AZURE_CLIENT_SECRET are set only when given; they must still be wired up.
APP_SETTINGS = {
    "MAIL_TRANSPORT",
    "MAIL_OUTBOX_DIR",
    "MAIL_SENDER",
    "MAIL_ALLOWED_SENDERS",
    "MAIL_DEFAULT_TO",
    "MAIL_ALLOWED_RECIPIENT_DOMAINS",
    "MAIL_SEND_DEADLINE_S",
    "GRAPH_CLOUD",
    "GRAPH_BASE_URL",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
}

MAIN_OUTPUTS = {
    "AZURE_LOCATION",
    "AZURE_TENANT_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_FUNCTION_APP_NAME",
    "SERVICE_API_NAME",
    "FUNCTION_BASE_URL",
    "MANAGED_IDENTITY_PRINCIPAL_ID",
    "MANAGED_IDENTITY_CLIENT_ID",
}


# ---- parsing ----------------------------------------------------------------


def bicep_files() -> list[Path]:
    return sorted(INFRA_DIR.rglob("*.bicep"))


@cache
def bicep_parser() -> BicepParser:
    return BicepParser()  # builds the grammar: slow, so once per session


def parse_bicep(path: Path) -> dict[str, Any]:
    """Parse with pycep; raise on any error (pycep raises, or returns nothing)."""
    tree = cast(dict[str, Any], bicep_parser().parse(file_path=path))
    if not isinstance(tree, dict) or "resources" not in tree:
        raise ValueError(f"pycep returned no parse tree for {path}")
    return tree


@pytest.fixture(scope="session")
def trees() -> dict[str, dict[str, Any]]:
    """Parse trees keyed by file stem ('main', 'api', 'storage', ...)."""
    return {path.stem: parse_bicep(path) for path in bicep_files()}


def body(declaration: dict[str, Any]) -> dict[str, Any]:
    """The object body of a resource or module, under any `if` or `for` wrapper."""
    config = declaration["config"]
    while "loop_type" in config or "condition" in config:
        config = config["config"]
    return cast(dict[str, Any], config)


def resources_of_type(tree: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: declaration
        for name, declaration in tree["resources"].items()
        if declaration["type"] == resource_type and not declaration["existing"]
    }


def one_resource(tree: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of_type(tree, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return body(next(iter(found.values())))


def resolve(expression: Any, tree: dict[str, Any], loop_items: dict[str, Any] | None = None) -> list[Any]:
    """Literal values an expression can take, following variables, loop items and `a.b`."""
    loop_items = loop_items or {}
    if isinstance(expression, list):
        return [value for item in expression for value in resolve(item, tree, loop_items)]
    if isinstance(expression, str):
        if expression in loop_items:
            return resolve(loop_items[expression], tree, loop_items)
        if expression in tree.get("variables", {}):
            return resolve(tree["variables"][expression]["value"], tree, loop_items)
        return [expression]
    if isinstance(expression, dict) and expression.get("operator", {}).get("type") == "property_accessor":
        operands = expression["operator"]["operands"]
        target = resolve(operands["operand_1"], tree, loop_items)
        key = operands["operand_2"]
        return [
            value
            for obj in target
            if isinstance(obj, dict) and key in obj
            for value in resolve(obj[key], tree, loop_items)
        ]
    return [expression]


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def app_settings(api_tree: dict[str, Any]) -> dict[str, Any]:
    """name -> value of every app setting the function app can get, across all branches."""
    site = one_resource(api_tree, "Microsoft.Web/sites")
    settings: dict[str, Any] = {}
    for source in resolve(site["properties"]["siteConfig"]["appSettings"], api_tree):
        for node in walk(source):
            if isinstance(node, dict) and "function" in node and node["function"]["type"] == "concat":
                for part in node["function"]["parameters"].values():
                    for resolved in resolve(part, api_tree):
                        for item in walk(resolved):
                            if isinstance(item, dict) and set(item) == {"name", "value"}:
                                settings[item["name"]] = item["value"]
    return settings


# ---- every file parses --------------------------------------------------------


def test_infra_has_main_and_one_module_per_concern() -> None:
    assert MAIN_BICEP.is_file()
    assert {path.stem for path in (INFRA_DIR / "app").glob("*.bicep")} == EXPECTED_MODULES


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(INFRA_DIR)))
def test_bicep_file_parses_with_pycep(path: Path) -> None:
    parse_bicep(path)  # any exception fails the test


def test_parse_check_rejects_syntax_pycep_cannot_read(tmp_path: Path) -> None:
    # Proves the test above can fail: pycep 0.5.1 does not know nullable types,
    # and checkov would skip such a file silently.
    unreadable = tmp_path / "nullable.bicep"
    unreadable.write_text("param note string?\n")
    with pytest.raises((LarkError, ValueError)):
        parse_bicep(unreadable)


def test_main_modules_point_at_files_that_exist(trees: dict[str, dict[str, Any]]) -> None:
    for name, module in trees["main"]["modules"].items():
        assert (INFRA_DIR / module["detail"]["path"]).is_file(), name


# ---- properties that matter ---------------------------------------------------


def test_main_targets_subscription_and_creates_the_resource_group(trees: dict[str, dict[str, Any]]) -> None:
    main = trees["main"]
    assert main["globals"]["scope"]["value"] == "subscription"
    assert resources_of_type(main, "Microsoft.Resources/resourceGroups")


def test_plan_is_flex_consumption_on_linux(trees: dict[str, dict[str, Any]]) -> None:
    api = trees["api"]
    plan = one_resource(api, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True
    site = one_resource(api, "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["properties"]["httpsOnly"] is True
    assert site["properties"]["siteConfig"]["minTlsVersion"] == "1.2"


def test_runtime_is_the_python_the_tests_run_on(trees: dict[str, dict[str, Any]]) -> None:
    api = trees["api"]
    runtime = one_resource(api, "Microsoft.Web/sites")["properties"]["functionAppConfig"]["runtime"]
    assert runtime["name"] == "python"
    assert resolve(runtime["version"], api) == ["3.11"]


def test_scale_settings_are_parameters(trees: dict[str, dict[str, Any]]) -> None:
    api = trees["api"]
    scale = one_resource(api, "Microsoft.Web/sites")["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["instanceMemoryMB"] in api["parameters"]
    assert scale["maximumInstanceCount"] in api["parameters"]
    always_ready = scale["alwaysReady"]["operator"]["operands"]
    assert always_ready["true_value"] == [{"name": "http", "instanceCount": "alwaysReadyInstanceCount"}]
    assert always_ready["false_value"] == []


def test_app_runs_as_the_user_assigned_identity(trees: dict[str, dict[str, Any]]) -> None:
    site = one_resource(trees["api"], "Microsoft.Web/sites")
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityResourceId"
    deployment = site["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert deployment["type"] == "blobContainer"
    assert deployment["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityResourceId",
    }


def test_storage_is_identity_only_tls12_and_private_blobs(trees: dict[str, dict[str, Any]]) -> None:
    storage_tree = trees["storage"]
    properties = one_resource(storage_tree, "Microsoft.Storage/storageAccounts")["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    container = one_resource(storage_tree, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["properties"]["publicAccess"] == "None"
    # The queue trigger and the idempotency table need these services.
    one_resource(storage_tree, "Microsoft.Storage/storageAccounts/queueServices")
    one_resource(storage_tree, "Microsoft.Storage/storageAccounts/tableServices")
    mail_queue = one_resource(storage_tree, "Microsoft.Storage/storageAccounts/queueServices/queues")
    assert mail_queue["name"] == "mailQueueName"
    assert storage_tree["parameters"]["mailQueueName"]["default"] == "outbound-mail"


def test_host_storage_settings_are_identity_based(trees: dict[str, dict[str, Any]]) -> None:
    settings = app_settings(trees["api"])
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    # __accountName avoids the host start-up race on __blobServiceUri (azure-functions-host#11787).
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert {"AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri"} <= set(settings)
    assert "AzureWebJobsStorage" not in settings


def test_no_storage_keys_or_connection_strings_anywhere() -> None:
    for path in bicep_files():
        text = path.read_text()
        for marker in ("listKeys(", "AccountKey=", "InstrumentationKey="):
            assert marker not in text, f"{marker} in {path.name}"


def test_every_setting_the_app_reads_is_an_app_setting(trees: dict[str, dict[str, Any]]) -> None:
    settings = app_settings(trees["api"])
    missing = APP_SETTINGS - set(settings)
    assert not missing, f"app settings missing in api.bicep: {sorted(missing)}"
    assert settings["MAIL_SEND_DEADLINE_S"] == {
        "function": {"type": "string", "parameters": {"value_to_convert": "mailSendDeadlineSeconds"}}
    }
    # Flex Consumption rejects the runtime settings; the runtime is functionAppConfig.runtime.
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & set(settings)


def test_mail_parameters_reach_the_function_app(trees: dict[str, dict[str, Any]]) -> None:
    # A parameter main.bicep takes but never passes to api.bicep is a silently dropped setting.
    passed = body(trees["main"]["modules"]["api"])["params"]
    for name in trees["api"]["parameters"]:
        if name.startswith(("mail", "graph")) or name == "azureAuthorityHost":
            assert name in passed, f"main.bicep does not pass {name} to api.bicep"


def test_client_secret_is_a_key_vault_reference(trees: dict[str, dict[str, Any]]) -> None:
    settings = app_settings(trees["api"])
    assert settings["AZURE_CLIENT_SECRET"] == "@Microsoft.KeyVault(SecretUri=${graphClientSecretUri})"
    vault = one_resource(trees["keyvault"], "Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert trees["main"]["modules"]["keyVault"]["config"]["condition"] == "useClientSecret"


def test_application_insights_takes_only_entra_auth(trees: dict[str, dict[str, Any]]) -> None:
    component = one_resource(trees["monitoring"], "Microsoft.Insights/components")
    assert component["properties"]["DisableLocalAuth"] is True
    settings = app_settings(trees["api"])
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"


def test_role_assignments_use_fixed_role_ids_and_deterministic_names(trees: dict[str, dict[str, Any]]) -> None:
    granted: set[str] = set()
    for tree in trees.values():
        for name, declaration in resources_of_type(tree, "Microsoft.Authorization/roleAssignments").items():
            loop = declaration["config"].get("loop_type")
            loop_items = {loop["detail"]["item_name"]: loop["detail"]["array_name"]} if loop else {}
            assignment = body(declaration)
            properties = assignment["properties"]
            assert properties["principalType"] == "ServicePrincipal", name
            role_definition = properties["roleDefinitionId"]["function"]
            assert role_definition["type"] == "subscription_resource_id", name
            assert role_definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
            role_ids = resolve(role_definition["parameters"]["resource_name_1"], tree, loop_items)
            # Name: guid(<scope>.id, principalId, <role id>), stable across redeploys.
            guid = assignment["name"]["function"]
            assert guid["type"] == "guid", name
            arguments = guid["parameters"]
            assert arguments["base_string"]["operator"]["operands"] == {
                "operand_1": assignment["scope"],
                "operand_2": "id",
            }, name
            assert arguments["extra_string_1"] == properties["principalId"] == "principalId", name
            assert resolve(arguments["extra_string_2"], tree, loop_items) == role_ids, name
            granted.update(role_ids)
    assert granted == set(ROLE_IDS.values()), {
        role: role_id for role, role_id in ROLE_IDS.items() if role_id not in granted
    }


def test_secret_parameters_are_secure_and_have_no_default(trees: dict[str, dict[str, Any]]) -> None:
    secret_like = re.compile(r"secret|password|credential", re.IGNORECASE)
    checked = []
    for stem, tree in trees.items():
        for name, parameter in tree["parameters"].items():
            if secret_like.search(name) and not name.endswith(("Uri", "Name")):
                assert {"type": "secure"} in parameter["decorators"], f"{stem}.bicep: {name} is not @secure()"
                assert not parameter.get("default"), f"{stem}.bicep: {name} has a default value"
                checked.append(f"{stem}.{name}")
    assert {"main.graphClientSecret", "keyvault.clientSecret"} <= set(checked)


def test_main_outputs_what_azd_and_the_readme_use(trees: dict[str, dict[str, Any]]) -> None:
    missing = MAIN_OUTPUTS - set(trees["main"]["outputs"])
    assert not missing, sorted(missing)


def test_azd_finds_the_function_app_by_service_name(trees: dict[str, dict[str, Any]]) -> None:
    assert trees["api"]["parameters"]["serviceName"]["default"] == "api"
    azure_yaml = (REPO_ROOT / "azure.yaml").read_text()
    assert re.search(
        r"^services:\n  api:\n    project: \.\n    language: python\n    host: function$", azure_yaml, re.M
    )


def test_main_parameters_json_matches_main_bicep(trees: dict[str, dict[str, Any]]) -> None:
    parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    declared = trees["main"]["parameters"]
    assert set(parameters) <= set(declared), sorted(set(parameters) - set(declared))
    required = {name for name, parameter in declared.items() if "default" not in parameter}
    assert required <= set(parameters), sorted(required - set(parameters))


def test_abbreviations_cover_what_main_uses(trees: dict[str, dict[str, Any]]) -> None:
    abbreviations = json.loads((INFRA_DIR / "abbreviations.json").read_text())
    used = set(re.findall(r"abbrs\.(\w+)", MAIN_BICEP.read_text()))
    assert used and used <= set(abbreviations), sorted(used - set(abbreviations))


# ---- checkov ------------------------------------------------------------------


def find_tool(name: str, env_var: str) -> str:
    """Path of a dev tool: $ENV_VAR, then .venv-infra/bin, then PATH. Fails (never skips) if absent."""
    candidates = [os.environ.get(env_var, ""), str(INFRA_VENV_BIN / name), shutil.which(name) or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"{name} not found: pip install -r requirements-infra.txt into .venv-infra (or set {env_var})")


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    checkov = find_tool("checkov", "CHECKOV")
    completed = subprocess.run(
        [checkov, "--directory", str(INFRA_DIR), "--framework", "bicep", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    if isinstance(report, list):  # one entry per framework when there are several
        report = next(entry for entry in report if entry.get("check_type") == "bicep")
    return cast(dict[str, Any], report)


def test_checkov_parsed_every_bicep_file(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    checked_files = {
        check["file_path"] for key in ("passed_checks", "skipped_checks") for check in checkov_report["results"][key]
    }
    # The files whose resources checkov has checks for; a file missing here was not scanned.
    assert {"/app/api.bicep", "/app/storage.bicep", "/app/keyvault.bicep"} <= checked_files
    assert checkov_report["summary"]["passed"] >= 20


def test_checkov_has_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def test_every_skipped_check_is_skipped_inline_with_a_reason(checkov_report: dict[str, Any]) -> None:
    for check in checkov_report["results"]["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) >= 20, f"{check['check_id']} on {check['resource']} skipped without a reason"


def test_no_stale_checkov_skips(checkov_report: dict[str, Any]) -> None:
    # A skip comment checkov does not apply (a typo, the wrong resource) is a reason nobody checks.
    written = {
        (f"/{path.relative_to(INFRA_DIR)}", check_id)
        for path in bicep_files()
        for check_id in re.findall(r"//\s*checkov:skip=(CKV\w+)", path.read_text())
    }
    skipped = {(check["file_path"], check["check_id"]) for check in checkov_report["results"]["skipped_checks"]}
    assert written == skipped


# ---- grant script -------------------------------------------------------------


def test_grant_script_is_valid_bash() -> None:
    completed = subprocess.run(["bash", "-n", str(GRANT_SCRIPT)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert os.access(GRANT_SCRIPT, os.X_OK), "grant-mail-send.sh is not executable"


def test_grant_script_passes_shellcheck() -> None:
    shellcheck = find_tool("shellcheck", "SHELLCHECK")
    completed = subprocess.run([shellcheck, str(GRANT_SCRIPT)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
