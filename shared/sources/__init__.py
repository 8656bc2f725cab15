"""Webhook sources, one module per sender: each verifies its caller and turns its payload into a Notification.

Modules are imported on first use, so a cold start pays only for the sources it is sent, and
/api/mail for none of them (not even ``base`` and the Notification model). Each module's
``build(SourceSettings)`` makes its Source from the settings part it needs.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

    from shared.settings import Credentials, HookAuthSettings
    from shared.sources.base import Source

SOURCES = ("alertmanager", "grafana", "azure-monitor", "github", "slack", "pagerduty", "sentry", "generic")


class SourceRegistry:
    """The process's sources, each built once on first use (Azure Monitor's keeps its signing-key cache)."""

    def __init__(self, hook_auth: HookAuthSettings, credentials: Credentials, session: requests.Session) -> None:
        self._hook_auth = hook_auth
        self._credentials = credentials
        self._session = session
        self._built: dict[str, Source] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Source:
        """The source named in the URL; KeyError for a name not in SOURCES."""
        if (source := self._built.get(name)) is not None:
            return source
        if name not in SOURCES:
            raise KeyError(name)
        with self._lock:
            if name not in self._built:
                from shared.sources.base import SourceSettings

                module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
                built: Source = module.build(SourceSettings(self._hook_auth, self._credentials, self._session))
                self._built[name] = built
            return self._built[name]
