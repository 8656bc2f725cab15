"""Azure Monitor action-group webhooks: the common alert schema, and a generic mail for the rest.

Formats, from learn.microsoft.com/azure/azure-monitor/alerts/:
- ``alerts-common-schema``: ``schemaId`` "azureMonitorCommonAlertSchema"; ``data.essentials`` (the
  same fields for every alert type), ``data.alertContext`` (what caused the alert, one shape per
  alert type) and ``data.customProperties`` (the rule's own key/value pairs, null when unset).
- ``alerts-payload-samples``: sample payloads of metric (static, dynamic, availability test), log
  search (V1 ``SearchQuery``..., V2 ``conditionType`` "LogQueryCriteria"), activity log, service
  health and resource health alerts.
- ``alerts-non-common-schema-definitions`` and ``alerts-webhooks``: the older per-type payloads
  (``"status": "Activated"`` + ``context``), which get a generic mail built from whatever they hold;
  anything that is neither is refused (400): ``schema`` says what is recognised.

Parsing is lenient: every field may be missing, null or of another type (the samples themselves
send ``"level": 3`` and ``"level": "Informational"``), and unknown fields are ignored.

One Alert block per criterion is made only when a metric or log search rule has several
(``condition.allOf`` with more than one entry): each then gets its own value, threshold and
dimensions. A single criterion is shown as facts, which read better than a block of one.

One module per job: ``schema`` (which format a payload is), ``common_schema``, the alertContext
readers per alert kind (``metric_log``, ``activity_log``), ``legacy`` (older payloads),
``resource_id``, ``html_text``, ``facts`` and ``values`` (small readers), ``entra_token`` (the
secure webhook's token check) and ``source`` (the Source: verify, then read).
"""

from shared.sources.azure_monitor.facts import MAX_GENERIC_FACTS
from shared.sources.azure_monitor.html_text import html_to_text
from shared.sources.azure_monitor.schema import to_notification
from shared.sources.azure_monitor.source import AzureMonitorSource, build

__all__ = ["MAX_GENERIC_FACTS", "AzureMonitorSource", "build", "html_to_text", "to_notification"]
