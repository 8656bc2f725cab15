"""Which schema a payload uses: the common alert schema, or an older or unknown one."""

from __future__ import annotations

from shared.sources.azure_monitor.common_schema import read_common_schema
from shared.sources.azure_monitor.legacy import read_legacy
from shared.sources.azure_monitor.values import lower_text
from shared.sources.base import HookRequest
from shared.sources.notification import Notification
from shared.sources.readers import require_object

COMMON_SCHEMA_ID = "azuremonitorcommonalertschema"  # compared lower-cased


def to_notification(request: HookRequest) -> Notification:
    payload = require_object(request.payload, "an Azure Monitor alert")
    data = payload.get("data")
    is_common = lower_text(payload.get("schemaId")) in (COMMON_SCHEMA_ID, "")
    if is_common and isinstance(data, dict) and isinstance(data.get("essentials"), dict):
        return read_common_schema(request.source, data)
    if isinstance(payload.get("essentials"), dict) and "schemaId" not in payload:
        return read_common_schema(request.source, payload)  # a forwarder that posts only ``data``
    return read_legacy(request.source, payload)
