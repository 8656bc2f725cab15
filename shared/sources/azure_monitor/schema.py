"""Which schema a payload uses: the common alert schema, a known older one, or none (400).

Detected strictly, so that the route mails Azure Monitor's alerts and nothing else: ``{}`` or an
Alertmanager body posted here became an empty or key-dump mail. What is recognised, per
learn.microsoft.com/azure/azure-monitor/alerts/ (alerts-common-schema,
alerts-non-common-schema-definitions, alerts-webhooks, alerts-log-webhook) and Cost Management's
budget alerts (learn.microsoft.com/azure/cost-management-billing/costs/cost-management-budget-scenario):

- the common alert schema: ``schemaId`` "azureMonitorCommonAlertSchema" (or none) with
  ``data.essentials``, or ``essentials`` alone (a forwarder that posts only ``data``);
- the older per-type payloads, by their ``schemaId`` with a ``data`` object: "AzureMonitorMetricAlert",
  "Microsoft.Insights/activityLogs", "Microsoft.Insights/LogAlert", "AIP Budget Notification";
- and the two that carry no ``schemaId``: the classic metric alert (``status`` with a ``context``
  holding its ``condition``) and the log search alert of Log Analytics (``AlertRuleName``).
"""

from __future__ import annotations

from typing import Any

from shared.problems import FieldError
from shared.sources.azure_monitor.common_schema import read_common_schema
from shared.sources.azure_monitor.legacy import read_legacy
from shared.sources.azure_monitor.values import as_text, lower_text
from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.notification import Notification
from shared.sources.readers import require_object

COMMON_SCHEMA_ID = "azuremonitorcommonalertschema"  # compared lower-cased
LEGACY_SCHEMA_IDS = frozenset(
    {
        "azuremonitormetricalert",
        "microsoft.insights/activitylogs",
        "microsoft.insights/logalert",
        "aip budget notification",
    }
)


def to_notification(request: HookRequest) -> Notification:
    payload = require_object(request.payload, "an Azure Monitor alert")
    data = payload.get("data")
    schema_id = lower_text(payload.get("schemaId"))
    if schema_id in (COMMON_SCHEMA_ID, "") and isinstance(data, dict) and isinstance(data.get("essentials"), dict):
        return read_common_schema(request.source, data)
    if isinstance(payload.get("essentials"), dict) and "schemaId" not in payload:
        return read_common_schema(request.source, payload)  # a forwarder that posts only ``data``
    if _is_known_legacy(payload, schema_id):
        return read_legacy(request.source, payload)
    raise InvalidHookPayload(
        "Expected an Azure Monitor alert: the common alert schema (schemaId 'azureMonitorCommonAlertSchema' with "
        "data.essentials) or one of the older schemas an action group sends.",
        errors=[FieldError("schemaId" if schema_id else "data.essentials", _why_not(payload, schema_id))],
    )


def _is_known_legacy(payload: dict[str, Any], schema_id: str) -> bool:
    if schema_id:
        return schema_id in LEGACY_SCHEMA_IDS and isinstance(payload.get("data"), dict)
    context = payload.get("context")
    classic_metric = isinstance(context, dict) and "status" in payload and isinstance(context.get("condition"), dict)
    log_search = as_text(payload.get("AlertRuleName")) is not None
    return classic_metric or log_search


def _why_not(payload: dict[str, Any], schema_id: str) -> str:
    if schema_id == COMMON_SCHEMA_ID:
        return "the common alert schema needs a data.essentials object"
    if schema_id in LEGACY_SCHEMA_IDS:
        return f"schema '{as_text(payload.get('schemaId'))}' needs a data object"
    if schema_id:
        return f"'{(as_text(payload.get('schemaId')) or '')[:80]}' is not a schema Azure Monitor sends"
    return "no schemaId, and neither the common alert schema nor an older Azure Monitor payload"
