"""Distinct Alertmanager deliveries for storms: each its own alert name, group key and fingerprint."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "alertmanager" / "firing-single.json"


def distinct_alert(name: str, *, status: str = "firing") -> bytes:
    """Alertmanager's webhook body for one alert named ``name``, never seen before by any dedup key."""
    document = json.loads(_FIXTURE.read_text())
    document["groupKey"] = f'{{}}:{{alertname="{name}", run="{uuid.uuid4()}"}}'
    document["status"] = status
    document["groupLabels"]["alertname"] = name
    document["commonLabels"]["alertname"] = name
    for item in document["alerts"]:
        item["labels"]["alertname"] = name
        item["status"] = status
        item["fingerprint"] = uuid.uuid4().hex[:16]
    return json.dumps(document).encode()
