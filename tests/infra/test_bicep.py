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

import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from lark.exceptions import LarkError  # pycep's grammar engine; its parse errors
from pycep import BicepParser

from shared.delivery.digests.flush import poison_queue as digest_poison_queue
from shared.delivery.digests.held import BODIES_CONTAINER as HELD_BODIES_CONTAINER
from shared.delivery.digests.held import FLUSH_QUEUE
from shared.delivery.digests.held import TABLE_NAME as HELD_TABLE
from shared.delivery.idempotency.table import TABLE_NAME as IDEMPOTENCY_TABLE
from shared.delivery.mail_queue import bodies_container, poison_queue
from shared.delivery.mailbox.table import TABLE_NAME as MAILBOXES_TABLE
from shared.settings.delivery import DEFAULT_IDEMPOTENCY_TTL_S, DEFAULT_REPEATING_DEDUP_TTL_S
from tests.helpers.infra_tools import find_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
MAIN_BICEP = INFRA_DIR / "main.bicep"
GRANT_SCRIPT = INFRA_DIR / "scripts" / "grant-mail-send.sh"
INFRA_VENV_BIN = REPO_ROOT / ".venv-infra" / "bin"
# Where the app reads its settings: a module, or a package of modules.
APP_SETTINGS_READER = REPO_ROOT / "shared" / "settings"

EXPECTED_MODULES = {"identity", "storage", "monitoring", "rbac", "keyvault", "api"}

# Built-in role definition IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}

# Settings the app reads that must exist in Azure. GRAPH_BASE_URL, AZURE_AUTHORITY_HOST,
# AZURE_CLIENT_SECRET and the webhook settings are set only when given; they must still be wired up.
APP_SETTINGS = {
    "MAIL_TRANSPORT",
    "MAIL_MESSAGE_FORMAT",
    "MAIL_THREAD_BY_DATE",
    "MAIL_OUTBOX_DIR",
    "MAIL_SENDER",
    "MAIL_ALLOWED_SENDERS",
    "MAIL_DEFAULT_TO",
    "MAIL_ALLOWED_RECIPIENT_DOMAINS",
    "MAIL_SEND_DEADLINE_S",
    "MAIL_SEND_METHOD",
    "GRAPH_CLOUD",
    "GRAPH_BASE_URL",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "MAIL_ROUTES",
    "MAIL_TEMPLATES_DIR",
    "HOOK_BEARER_TOKEN",
    "GITHUB_WEBHOOK_SECRET",
    "GRAFANA_WEBHOOK_SECRET",
    "GRAFANA_WEBHOOK_TIMESTAMP_HEADER",
    "MAIL_DELIVERY",
    "MAIL_QUEUE_NAME",
    "MAIL_IDEMPOTENCY_TTL_S",
    "MAIL_REPEATING_DEDUP_TTL_S",
}

# Azure's longest queue and blob container name; the derived names must fit in it.
MAX_STORAGE_NAME = 63

# Settings shared/settings.py reads that infra/ deliberately does not provision.
NOT_PROVISIONED = {
    "MAIL_ROUTES_FILE": "a file in the app package; in Azure, MAIL_ROUTES carries the same JSON",
    "AZURE_CLIENT_CERTIFICATE_PATH": "certificate auth is for local runs; Azure uses the identity or a client secret",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": "same as AZURE_CLIENT_CERTIFICATE_PATH",
}


@dataclass(frozen=True)
class WebhookSetting:
    """One webhook setting: app setting, main.bicep parameter, azd environment variable."""

    app_setting: str
    param: str
    env_var: str
    param_type: str = "string"
    secret: bool = False


WEBHOOK_SETTINGS = (
    # An object parameter: azd (1.23.4+) parses the variable's JSON, where a string
    # parameter would have its quotes pasted into main.parameters.json unescaped.
    WebhookSetting("MAIL_ROUTES", "mailRoutes", "MAIL_ROUTES", param_type="object"),
    WebhookSetting("MAIL_TEMPLATES_DIR", "mailTemplatesDir", "MAIL_TEMPLATES_DIR"),
    WebhookSetting("HOOK_BEARER_TOKEN", "hookBearerToken", "HOOK_BEARER_TOKEN", secret=True),
    WebhookSetting("GITHUB_WEBHOOK_SECRET", "githubWebhookSecret", "GITHUB_WEBHOOK_SECRET", secret=True),
    WebhookSetting("GRAFANA_WEBHOOK_SECRET", "grafanaWebhookSecret", "GRAFANA_WEBHOOK_SECRET", secret=True),
    WebhookSetting("PAGERDUTY_WEBHOOK_SECRET", "pagerdutyWebhookSecret", "PAGERDUTY_WEBHOOK_SECRET", secret=True),
    WebhookSetting("SENTRY_CLIENT_SECRET", "sentryClientSecret", "SENTRY_CLIENT_SECRET", secret=True),
    WebhookSetting(
        "GRAFANA_WEBHOOK_TIMESTAMP_HEADER", "grafanaWebhookTimestampHeader", "GRAFANA_WEBHOOK_TIMESTAMP_HEADER"
    ),
)
PLAIN_WEBHOOK_SETTINGS = [setting for setting in WEBHOOK_SETTINGS if not setting.secret]
SECRET_WEBHOOK_SETTINGS = [setting for setting in WEBHOOK_SETTINGS if setting.secret]

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


def operator(expression: Any, kind: str) -> dict[str, Any] | None:
    """The operands of `expression` if it is a `kind` operator ('conditional', 'or', 'not', ...)."""
    if isinstance(expression, dict) and expression.get("operator", {}).get("type") == kind:
        return cast(dict[str, Any], expression["operator"]["operands"])
    return None


def dotted(expression: Any) -> str:
    """`a.b.c` for a property-accessor chain (pycep nests it to the right), or the bare name."""
    operands = operator(expression, "property_accessor")
    if operands is None:
        assert isinstance(expression, str), expression
        return expression
    return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"


def empty_argument(expression: Any) -> Any:
    """x for `empty(x)`, else None."""
    if isinstance(expression, dict) and expression.get("function", {}).get("type") == "empty":
        return expression["function"]["parameters"]["item_to_test"]
    return None


def not_empty_argument(expression: Any, tree: dict[str, Any]) -> Any:
    """x for `!empty(x)` (also behind a variable), else None."""
    for value in resolve(expression, tree):
        operands = operator(value, "not")
        if operands is not None:
            return empty_argument(operands["bool_value"])
    return None


def or_operands(expression: Any, tree: dict[str, Any]) -> list[Any]:
    """The terms of `a || b || c`, following variables."""
    terms = []
    for value in resolve(expression, tree):
        operands = operator(value, "or")
        if operands is None:
            terms.append(value)
        else:
            terms += or_operands(operands["operand_1"], tree) + or_operands(operands["operand_2"], tree)
    return terms


def references(node: Any, name: str, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths where the parameter or variable `name` is used, '${...}' interpolation included.

    In `a.b.c` only `a` is a reference: the rest are property names.
    """
    if isinstance(node, str):
        if node == name or re.search(r"\$\{[^}]*(?<![\w.])" + re.escape(name) + r"(?!\w)", node):
            yield path
    elif isinstance(node, dict):
        accessor = operator(node, "property_accessor")
        if accessor is not None:
            yield from references(accessor["operand_1"], name, (*path, "operator", "operands", "operand_1"))
            return
        for key, value in node.items():
            yield from references(value, name, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from references(value, name, (*path, index))


def uses(tree: dict[str, Any], name: str) -> list[tuple[Any, ...]]:
    """Every use of `name` in a file outside the parameter declarations."""
    return [
        path
        for section in ("variables", "resources", "modules", "outputs")
        for path in references(tree.get(section, {}), name, (section,))
    ]


def node_at(tree: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = tree
    for key in path:
        node = node[key]
    return node


def only_tested_for_emptiness(tree: dict[str, Any], path: tuple[Any, ...]) -> bool:
    """True if the use at `path` is the argument of `empty(...)`: it yields a bool, never the value."""
    return path[-3:] == ("function", "parameters", "item_to_test") and node_at(tree, path[:-2])["type"] == "empty"


def setting_guard(api_tree: dict[str, Any], setting: str) -> Any:
    """p for an app setting declared as `var x = empty(p) ? [] : [{ name: setting, ... }]`."""
    for variable in api_tree["variables"].values():
        operands = operator(variable["value"], "conditional")
        if operands is None or not isinstance(operands["false_value"], list):
            continue
        if setting in [item.get("name") for item in operands["false_value"] if isinstance(item, dict)]:
            assert operands["true_value"] == [], f"{setting}: the empty branch must add no setting"
            guard = empty_argument(operands["condition"])
            assert guard is not None, f"{setting} is not guarded by empty(...)"
            return guard
    raise AssertionError(f"{setting} is not an app setting that is only set when given")


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


# Site properties and app settings Flex Consumption rejects or ignores, from "Flex Consumption
# plan deprecations" (learn.microsoft.com/azure/azure-functions/functions-app-settings). ftpsState
# fails the whole deployment with ARM error 51021 (Microsoft Q&A 2277522,
# Azure/terraform-azurerm-avm-res-web-site#360). Compared case-insensitively: ARM property names are.
FLEX_REJECTED_SITE_PROPERTIES = {
    "ftpsState": "no FTP or FTPS on Flex Consumption",
    "use32BitWorkerProcess": "64-bit only",
    "alwaysOn": "not valid: always-ready instances (functionAppConfig.scaleAndConcurrency.alwaysReady) instead",
    "isReserved": "not valid on the site (the plan's reserved: true makes it Linux)",
    "isXenon": "not valid",
    "windowsFxVersion": "not valid",
    "linuxFxVersion": "replaced by functionAppConfig.runtime",
    "javaVersion": "replaced by functionAppConfig.runtime.version",
    "powerShellVersion": "replaced by functionAppConfig.runtime.version",
    "netFrameworkVersion": "replaced by functionAppConfig.runtime.version",
    "preWarmedInstanceCount": "replaced by functionAppConfig.scaleAndConcurrency.alwaysReady",
    "functionAppScaleLimit": "replaced by functionAppConfig.scaleAndConcurrency.maximumInstanceCount",
    "containerSize": "replaced by functionAppConfig.scaleAndConcurrency.instanceMemoryMB",
}
FLEX_REJECTED_APP_SETTINGS = {
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
}


def flex_rejected_properties(site: dict[str, Any]) -> list[str]:
    """Paths of the properties in a site body (properties and properties.siteConfig) Flex rejects."""
    rejected = {name.lower() for name in FLEX_REJECTED_SITE_PROPERTIES}
    properties = site.get("properties", {})
    found = [f"properties.{key}" for key in properties if key.lower() in rejected]
    site_config = properties.get("siteConfig", {})
    if isinstance(site_config, dict):
        found += [f"properties.siteConfig.{key}" for key in site_config if key.lower() in rejected]
    return found


def test_flex_site_sets_nothing_flex_consumption_rejects(trees: dict[str, dict[str, Any]]) -> None:
    site = one_resource(trees["api"], "Microsoft.Web/sites")
    assert site["properties"]["siteConfig"], "siteConfig is where the rejected properties would be"
    assert not flex_rejected_properties(site), {
        path: FLEX_REJECTED_SITE_PROPERTIES[path.rsplit(".", 1)[1]] for path in flex_rejected_properties(site)
    }
    rejected_settings = FLEX_REJECTED_APP_SETTINGS & set(app_settings(trees["api"]))
    assert not rejected_settings, sorted(rejected_settings)
    # The runtime lives where Flex reads it.
    assert site["properties"]["functionAppConfig"]["runtime"]["name"] == "python"


def test_flex_rejected_property_check_can_fail() -> None:
    # The check above finds a rejected property in either place, whatever its case.
    site = {"properties": {"containerSize": 1536, "siteConfig": {"FtpsState": "Disabled", "http20Enabled": True}}}
    assert flex_rejected_properties(site) == ["properties.containerSize", "properties.siteConfig.FtpsState"]


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
    containers = resources_of_type(storage_tree, "Microsoft.Storage/storageAccounts/blobServices/containers")
    # The app package, the claim-check bodies, and the bodies of notifications held for digests.
    assert len(containers) == 3, sorted(containers)
    for name, declaration in containers.items():
        assert body(declaration)["properties"]["publicAccess"] == "None", name


# ---- queue mode and idempotency (issue 5) ---------------------------------------


def names_of(tree: dict[str, Any], resource_type: str) -> set[Any]:
    """The names (variables followed) of the resources of one type in a file."""
    return {
        name
        for declaration in resources_of_type(tree, resource_type).values()
        for name in resolve(body(declaration)["name"], tree)
    }


def decorator(parameter: dict[str, Any], kind: str) -> Any:
    found = [item["argument"] for item in parameter["decorators"] if item["type"] == kind]
    assert len(found) == 1, (kind, parameter)
    return found[0]


def test_queue_mode_storage_has_the_names_the_app_derives(trees: dict[str, dict[str, Any]]) -> None:
    storage_tree = trees["storage"]
    # One parameter names them all: the app's own functions, applied to it, give the Bicep names.
    queue = "${mailQueueName}"
    queues = names_of(storage_tree, "Microsoft.Storage/storageAccounts/queueServices/queues")
    # The storm digests' flush queue and its poison queue have fixed names (the trigger's binding).
    assert queues == {"mailQueueName", poison_queue(queue), FLUSH_QUEUE, digest_poison_queue()}, queues
    containers = names_of(storage_tree, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {bodies_container(queue), HELD_BODIES_CONTAINER} <= containers, containers
    tables = names_of(storage_tree, "Microsoft.Storage/storageAccounts/tableServices/tables")
    assert tables == {IDEMPOTENCY_TABLE, MAILBOXES_TABLE, HELD_TABLE}, tables
    # Each under the account's one service of its kind (parent chain, not a name with slashes).
    for service, (child, symbol) in {
        "queueServices": ("queues", "queueService"),
        "blobServices": ("containers", "blobService"),
        "tableServices": ("tables", "tableService"),
    }.items():
        account_service = "Microsoft.Storage/storageAccounts/" + service
        assert one_resource(storage_tree, account_service)["name"] == "default"
        assert storage_tree["resources"][symbol]["type"] == account_service
        for name, declaration in resources_of_type(storage_tree, f"{account_service}/{child}").items():
            assert body(declaration)["parent"] == symbol, name
    # The queue name fits Azure's rules with either suffix, and the default is the app's.
    for tree in (trees["main"], storage_tree, trees["api"]):
        parameter = tree["parameters"]["mailQueueName"]
        assert parameter["default"] == "outbound-mail"
        assert decorator(parameter, "min_length") == 3
        longest = decorator(parameter, "max_length")
        assert longest + max(len(poison_queue("")), len(bodies_container(""))) <= MAX_STORAGE_NAME, longest


def test_http_concurrency_per_instance_is_chosen_not_left_to_the_default(trees: dict[str, dict[str, Any]]) -> None:
    scale = one_resource(trees["api"], "Microsoft.Web/sites")["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["triggers"]["http"]["perInstanceConcurrency"] == "httpPerInstanceConcurrency"
    assert trees["api"]["parameters"]["httpPerInstanceConcurrency"]["default"] == 16


def test_one_queue_name_reaches_storage_and_the_app(trees: dict[str, dict[str, Any]]) -> None:
    main, storage_tree = trees["main"], trees["storage"]
    assert body(main["modules"]["storage"])["params"]["mailQueueName"] == "mailQueueName"
    # The app gets the name of the queue storage.bicep created, so the two cannot drift apart.
    assert dotted(body(main["modules"]["api"])["params"]["mailQueueName"]) == "storage.outputs.mailQueueName"
    assert dotted(storage_tree["outputs"]["mailQueueName"]["value"]) == "mailQueue.name"
    assert body(storage_tree["resources"]["mailQueue"])["name"] == "mailQueueName"
    assert app_settings(trees["api"])["MAIL_QUEUE_NAME"] == "mailQueueName"
    azd_parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert azd_parameters["mailQueueName"] == {"value": "${MAIL_QUEUE_NAME=outbound-mail}"}


def test_mail_queue_name_is_set_unconditionally(trees: dict[str, dict[str, Any]]) -> None:
    # The queue trigger's binding reads %MAIL_QUEUE_NAME%: unset, the host cannot index the function.
    api = trees["api"]
    holders = [
        name
        for name, variable in api["variables"].items()
        if "MAIL_QUEUE_NAME" in [node.get("name") for node in walk(variable["value"]) if isinstance(node, dict)]
    ]
    assert len(holders) == 1, holders
    holder = api["variables"][holders[0]]["value"]
    assert isinstance(holder, list), f"{holders[0]} is not a plain list: MAIL_QUEUE_NAME would be conditional"
    site = one_resource(api, "Microsoft.Web/sites")
    assert site["properties"]["siteConfig"]["appSettings"] == "appSettings"
    concat = api["variables"]["appSettings"]["value"]["function"]
    assert concat["type"] == "concat"
    assert holders[0] in concat["parameters"].values(), "MAIL_QUEUE_NAME's list is not an argument of appSettings"
    # And what main.bicep passes is never empty: a module output, fed by a parameter of 3+ characters.
    assert operator(body(trees["main"]["modules"]["api"])["params"]["mailQueueName"], "conditional") is None


def test_delivery_settings_are_parameters_fed_by_azd(trees: dict[str, dict[str, Any]]) -> None:
    main, api = trees["main"], trees["api"]
    azd_parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    for tree in (main, api):
        parameter = tree["parameters"]["mailDelivery"]
        assert decorator(parameter, "allowed") == ["direct", "queue"]
        assert parameter["default"] == "direct"
    assert azd_parameters["mailDelivery"] == {"value": "${MAIL_DELIVERY=direct}"}
    passed = body(main["modules"]["api"])["params"]
    settings = app_settings(api)
    assert settings["MAIL_DELIVERY"] == passed["mailDelivery"] == "mailDelivery"
    for setting, param, default in (
        ("MAIL_IDEMPOTENCY_TTL_S", "mailIdempotencyTtlSeconds", DEFAULT_IDEMPOTENCY_TTL_S),
        ("MAIL_REPEATING_DEDUP_TTL_S", "mailRepeatingDedupTtlSeconds", DEFAULT_REPEATING_DEDUP_TTL_S),
    ):
        for tree in (main, api):
            parameter = tree["parameters"][param]
            assert parameter["type"] == "int"
            assert parameter["default"] == default, (param, default)
            # The app accepts 1 s to 7 days (shared/settings.py); a deployment outside it would not start.
            assert (decorator(parameter, "min_value"), decorator(parameter, "max_value")) == (1, 7 * 24 * 3600)
        assert passed[param] == param
        assert azd_parameters[param] == {"value": f"${{{setting}={default}}}"}
        assert settings[setting] == {"function": {"type": "string", "parameters": {"value_to_convert": param}}}


def test_identity_has_the_storage_data_roles_queue_mode_needs(trees: dict[str, dict[str, Any]]) -> None:
    # Queue: send, receive, update (visibility delay), delete, and the host's trigger (Contributor
    # includes Message Processor). Table: insert, read, conditional update, delete. Blob: claim-check
    # bodies (Owner, already needed by the host). All on the account the app's connection names.
    rbac = trees["rbac"]
    declaration = rbac["resources"]["storageRoles"]
    loop = declaration["config"]["loop_type"]["detail"]
    granted = set(resolve(loop["array_name"], rbac))
    needed = {
        ROLE_IDS[f"Storage {kind}"] for kind in ("Queue Data Contributor", "Table Data Contributor", "Blob Data Owner")
    }
    assert granted == needed, granted
    assignment = body(declaration)
    assert assignment["scope"] == "storage"
    storage = rbac["resources"]["storage"]
    assert storage["existing"] and storage["type"] == "Microsoft.Storage/storageAccounts"
    assert body(storage)["name"] == "storageAccountName"
    main = trees["main"]
    assert dotted(body(main["modules"]["rbac"])["params"]["storageAccountName"]) == "storage.outputs.name"
    assert dotted(body(main["modules"]["api"])["params"]["storageAccountName"]) == "storage.outputs.name"
    # The host starts as soon as the app exists: the roles first.
    assert "rbac" in body(main["modules"]["api"])["dependsOn"]


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


def test_every_setting_shared_settings_reads_is_provisioned(trees: dict[str, dict[str, Any]]) -> None:
    # The app's own list, not ours: a setting added to shared/settings fails here until
    # api.bicep sets it (or NOT_PROVISIONED says why Azure does without it). Upper-case names
    # only: the host's AzureWebJobsStorage* settings are checked above.
    sources = sorted(APP_SETTINGS_READER.glob("*.py")) or [APP_SETTINGS_READER.with_suffix(".py")]
    text = "\n".join(source.read_text() for source in sources)
    read = set(re.findall(r"\bread\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    assert len(read) >= 20, sorted(read)  # the pattern still finds the reads
    unprovisioned = read - set(app_settings(trees["api"])) - set(NOT_PROVISIONED)
    assert not unprovisioned, f"settings the app reads that api.bicep never sets: {sorted(unprovisioned)}"
    assert set(NOT_PROVISIONED) <= read, sorted(set(NOT_PROVISIONED) - read)


def test_mail_parameters_reach_the_function_app(trees: dict[str, dict[str, Any]]) -> None:
    # A parameter main.bicep takes but never passes to api.bicep is a silently dropped setting.
    passed = body(trees["main"]["modules"]["api"])["params"]
    for name in trees["api"]["parameters"]:
        if name.startswith(("mail", "graph")) or name == "azureAuthorityHost" or name.endswith("Uri"):
            assert name in passed, f"main.bicep does not pass {name} to api.bicep"


def test_client_secret_is_a_key_vault_reference(trees: dict[str, dict[str, Any]]) -> None:
    settings = app_settings(trees["api"])
    assert settings["AZURE_CLIENT_SECRET"] == "@Microsoft.KeyVault(SecretUri=${graphClientSecretUri})"
    vault = one_resource(trees["keyvault"], "Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert trees["main"]["modules"]["keyVault"]["config"]["condition"] == "useKeyVault"
    passed = body(trees["main"]["modules"]["api"])["params"]
    assert operator(passed["graphClientSecretUri"], "conditional") == {
        "condition": "useClientSecret",
        "true_value": {
            "operator": {
                "type": "property_accessor",
                "operands": {
                    "operand_1": "keyVault",
                    "operand_2": {
                        "operator": {
                            "type": "property_accessor",
                            "operands": {"operand_1": "outputs", "operand_2": "graphClientSecretUri"},
                        }
                    },
                },
            }
        },
        "false_value": "",
    }


def test_key_vault_is_deployed_when_any_secret_is_given(trees: dict[str, dict[str, Any]]) -> None:
    main = trees["main"]
    assert main["modules"]["keyVault"]["config"]["condition"] == "useKeyVault"
    terms = or_operands("useKeyVault", main)
    tested = {not_empty_argument(term, main) for term in terms} - {None}
    assert tested == {setting.param for setting in SECRET_WEBHOOK_SETTINGS}
    assert main["variables"]["useClientSecret"]["value"] in terms  # client-secret auth
    assert len(terms) == len(SECRET_WEBHOOK_SETTINGS) + 1, terms
    # The KEY_VAULT_NAME output names the vault exactly when it is deployed.
    named = operator(main["outputs"]["KEY_VAULT_NAME"]["value"], "conditional")
    assert named is not None and named["condition"] == "useKeyVault"


def test_key_vault_purge_protection_is_opt_in_and_never_false(trees: dict[str, dict[str, Any]]) -> None:
    # Purge protection with the deterministic kv-<resourceToken> name would block `azd down`
    # then `azd up` of the same environment for 90 days: it is a parameter, off by default.
    main, keyvault = trees["main"], trees["keyvault"]
    assert main["parameters"]["keyVaultPurgeProtection"]["type"] == "bool"
    assert main["parameters"]["keyVaultPurgeProtection"]["default"] is False
    assert keyvault["parameters"]["enablePurgeProtection"]["default"] is False
    assert body(main["modules"]["keyVault"])["params"]["enablePurgeProtection"] == "keyVaultPurgeProtection"
    azd_parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert azd_parameters["keyVaultPurgeProtection"] == {"value": "${MAILHOOK_KEY_VAULT_PURGE_PROTECTION=false}"}
    vault = one_resource(keyvault, "Microsoft.KeyVault/vaults")["properties"]
    # Key Vault refuses enablePurgeProtection: false (it can never be turned off): off is null.
    assert operator(vault["enablePurgeProtection"], "conditional") == {
        "condition": "enablePurgeProtection",
        "true_value": True,
        "false_value": None,
    }
    # Soft delete stays on in both cases: a deleted vault is recoverable (`az keyvault recover`).
    assert vault["enableSoftDelete"] is True
    assert vault["softDeleteRetentionInDays"] == 90


def test_key_vault_name_is_deterministic_per_environment(trees: dict[str, dict[str, Any]]) -> None:
    # Redeploys update the same vault; `azd down --purge` (or `az keyvault purge`) frees the name.
    main = trees["main"]
    assert main["variables"]["keyVaultName"]["value"] == "${abbrs.keyVaultVaults}${resourceToken}"
    assert body(main["modules"]["keyVault"])["params"]["name"] == "keyVaultName"


@pytest.mark.parametrize("setting", WEBHOOK_SETTINGS, ids=lambda setting: setting.app_setting)
def test_webhook_setting_is_an_optional_parameter_fed_by_azd(
    trees: dict[str, dict[str, Any]], setting: WebhookSetting
) -> None:
    parameter = trees["main"]["parameters"][setting.param]
    assert parameter["type"] == setting.param_type
    # Optional: an empty default, so azd (which drops a parameter whose variable is unset)
    # and `az deployment sub create` never ask for it.
    assert "default" in parameter and parameter["default"] in ("", {}), parameter
    azd_parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert azd_parameters[setting.param] == {"value": f"${{{setting.env_var}=}}"}


@pytest.mark.parametrize("setting", PLAIN_WEBHOOK_SETTINGS, ids=lambda setting: setting.app_setting)
def test_plain_webhook_setting_reaches_the_app_only_when_given(
    trees: dict[str, dict[str, Any]], setting: WebhookSetting
) -> None:
    api = trees["api"]
    assert body(trees["main"]["modules"]["api"])["params"][setting.param] == setting.param
    assert api["parameters"][setting.param]["type"] == setting.param_type
    assert api["parameters"][setting.param]["default"] in ("", {})
    value = app_settings(api)[setting.app_setting]
    if setting.param_type == "object":  # the app reads JSON text
        assert value == {"function": {"type": "string", "parameters": {"value_to_convert": setting.param}}}
    else:
        assert value == setting.param
    assert setting_guard(api, setting.app_setting) == setting.param


@pytest.mark.parametrize("setting", SECRET_WEBHOOK_SETTINGS, ids=lambda setting: setting.app_setting)
def test_secret_webhook_setting_is_a_key_vault_reference_only_when_given(
    trees: dict[str, dict[str, Any]], setting: WebhookSetting
) -> None:
    main, api, keyvault = trees["main"], trees["api"], trees["keyvault"]
    uri = f"{setting.param}Uri"  # the keyvault.bicep output and the api.bicep parameter
    for tree in (main, keyvault):
        parameter = tree["parameters"][setting.param]
        assert {"type": "secure"} in parameter["decorators"]
        assert not parameter.get("default")
    # main.bicep: the value goes to the vault; the app gets the secret's URI, and only when given.
    assert body(main["modules"]["keyVault"])["params"][setting.param] == setting.param
    passed = operator(body(main["modules"]["api"])["params"][uri], "conditional")
    assert passed is not None
    assert not_empty_argument(passed["condition"], main) == setting.param
    assert dotted(passed["true_value"]) == f"keyVault.outputs.{uri}"
    assert passed["false_value"] == ""
    # keyvault.bicep: stored under a name, and the output is that secret's version-less URI.
    stored = [
        item
        for item in keyvault["variables"]["givenSecrets"]["value"]["function"]["parameters"]["input_array"]
        if item["value"] == setting.param
    ]
    assert len(stored) == 1, stored
    secret_name = dotted(stored[0]["name"])
    assert keyvault["outputs"][uri]["value"] == f"${{vault.properties.vaultUri}}secrets/${{{secret_name}}}"
    # api.bicep: a Key Vault reference, set only when the URI is given.
    assert api["parameters"][uri]["default"] == ""
    assert app_settings(api)[setting.app_setting] == f"@Microsoft.KeyVault(SecretUri=${{{uri}}})"
    assert setting_guard(api, setting.app_setting) == uri


def test_secrets_reach_the_app_only_through_key_vault(trees: dict[str, dict[str, Any]]) -> None:
    main, keyvault = trees["main"], trees["keyvault"]
    secure = [name for name, parameter in main["parameters"].items() if {"type": "secure"} in parameter["decorators"]]
    assert set(secure) == {"graphClientSecret"} | {setting.param for setting in SECRET_WEBHOOK_SETTINGS}
    for name in secure:
        # main.bicep: handed to the keyVault module (same-named parameter) or tested with empty(); nothing else.
        for path in uses(main, name):
            to_vault = path[:2] == ("modules", "keyVault") and ("params", name) in itertools.pairwise(path)
            assert to_vault or only_tested_for_emptiness(main, path), f"main.bicep uses {name} at {path}"
        # keyvault.bicep: only as the value of an entry of givenSecrets, or tested with empty().
        for path in uses(keyvault, name):
            stored = path[:2] == ("variables", "givenSecrets") and path[-1] == "value" and "input_array" in path
            assert stored or only_tested_for_emptiness(keyvault, path), f"keyvault.bicep uses {name} at {path}"
    # givenSecrets feeds the vault's secrets loop and nothing else (no output, no other resource).
    assert [path[:2] for path in uses(keyvault, "givenSecrets")] == [("resources", "secrets")]
    loop = keyvault["resources"]["secrets"]["config"]["loop_type"]["detail"]
    assert loop["array_name"] == "givenSecrets"
    entry = one_resource(keyvault, "Microsoft.KeyVault/vaults/secrets")
    assert dotted(entry["properties"]["value"]) == f"{loop['item_name']}.value"
    assert entry["properties"]["contentType"] == "text/plain"
    # api.bicep takes no secret at all: only URIs, which it wraps in Key Vault references.
    for name, parameter in trees["api"]["parameters"].items():
        assert {"type": "secure"} not in parameter["decorators"], name
        assert name not in secure, name


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
    secret_like = re.compile(r"secret|password|credential|token", re.IGNORECASE)
    checked = []
    for stem, tree in trees.items():
        for name, parameter in tree["parameters"].items():
            if secret_like.search(name) and not name.endswith(("Uri", "Name")):
                assert {"type": "secure"} in parameter["decorators"], f"{stem}.bicep: {name} is not @secure()"
                assert not parameter.get("default"), f"{stem}.bicep: {name} has a default value"
                checked.append(f"{stem}.{name}")
    expected = {"graphClientSecret"} | {setting.param for setting in SECRET_WEBHOOK_SETTINGS}
    assert {f"{stem}.{name}" for stem in ("main", "keyvault") for name in expected} <= set(checked)


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


def test_checkov_parsed_every_bicep_file(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    checked_files = {
        check["file_path"] for key in ("passed_checks", "skipped_checks") for check in checkov_report["results"][key]
    }
    # The files whose resources checkov has checks for; a file missing here was not scanned.
    assert {"/app/api.bicep", "/app/storage.bicep", "/app/keyvault.bicep"} <= checked_files
    assert checkov_report["summary"]["passed"] >= 20


def test_no_conditional_resources(trees: dict[str, dict[str, Any]]) -> None:
    # checkov 3.3.30 looks inside a `for` body but not an `if` body: it would check a
    # conditional resource's wrapper, not its properties. Conditional modules are fine
    # (checkov scans the module file itself); inside a file, use a loop over a filtered list.
    for stem, tree in trees.items():
        for name, declaration in tree["resources"].items():
            assert not declaration["config"].get("condition"), f"{stem}.bicep: resource {name} has an if condition"


def test_checkov_checks_the_key_vault_secrets(checkov_report: dict[str, Any]) -> None:
    passed = {(check["check_id"], check["resource"]) for check in checkov_report["results"]["passed_checks"]}
    assert ("CKV_AZURE_114", "Microsoft.KeyVault/vaults/secrets.secrets") in passed


def test_checkov_checks_the_claim_check_container_is_private(checkov_report: dict[str, Any]) -> None:
    passed = {(check["check_id"], check["resource"]) for check in checkov_report["results"]["passed_checks"]}
    assert ("CKV_AZURE_34", "Microsoft.Storage/storageAccounts/blobServices/containers.mailBodiesContainer") in passed


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
