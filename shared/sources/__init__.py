"""Webhook source adapters, one module per sender, each turning its payload into a Notification.

Modules are imported on first use, so a cold start pays only for the sources it is sent.
"""

from __future__ import annotations

import importlib

from shared.sources.base import Adapter

SOURCES = ("alertmanager", "grafana", "azure-monitor", "github", "slack")


def adapter_for(source: str) -> Adapter | None:
    if source not in SOURCES:
        return None
    module = importlib.import_module(f"{__name__}.{source.replace('-', '_')}")
    adapter: Adapter = module.to_notification
    return adapter
