"""What a source is, what it receives, and what it may answer instead of a Notification."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared.problems import Problem
from shared.sources.notification import Notification

if TYPE_CHECKING:
    import requests

    from shared.settings import Credentials, HookAuthSettings
    from shared.settings.routes import Route


class InvalidHookPayload(Problem):
    status = 400
    code = "invalid_payload"
    title = "The webhook payload is not what this source sends"


@dataclass(frozen=True)
class HookRequest:
    """One webhook delivery: the raw body, the parsed payload, and the headers some senders put facts in."""

    source: str
    payload: Any  # the JSON body (or a form's ``payload=`` field, parsed); None until the caller is verified
    headers: Mapping[str, str]  # case-insensitive, as func.HttpRequest gives them
    body: bytes = b""  # as received: what signatures are computed over
    # The route the delivery is for, once looked up (after verify): a source that reads payloads
    # by the route's settings (generic.py, its ``mapping``) takes them from here.
    route: Route | None = None
    route_name: str | None = None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value.strip() if value else None

    def with_payload(self, payload: Any) -> HookRequest:
        return dataclasses.replace(self, payload=payload)

    def with_route(self, route: Route, route_name: str) -> HookRequest:
        return dataclasses.replace(self, route=route, route_name=route_name)


@dataclass(frozen=True)
class Skip:
    """A delivery that was understood and sends nothing (a ping, an event nobody asked for)."""

    reason: str
    status: str = "ignored"
    http_status: int = 202


class Source(Protocol):
    """One sender: who may call (``verify``) and what its payload says (``read``)."""

    @property
    def name(self) -> str:
        """The name in the URL, /api/hooks/{name}."""
        ...

    def verify(self, request: HookRequest) -> bool | None:
        """Raise a 401 Problem unless the caller proves what the settings require.

        Called with the raw body and headers, before the payload is parsed or a route looked up,
        so a caller without credentials learns nothing from parse errors or route names. Returns
        True when it checked a signature over the raw body (GitHub's, Grafana's): the endpoint
        then deduplicates by a digest of that body, since a captured delivery replayed with fresh
        unsigned headers (a new delivery id, an Idempotency-Key) is still the same delivery.
        """
        ...

    def read(self, request: HookRequest) -> Notification | Skip:
        """The payload as a Notification, or a Skip; raises InvalidHookPayload when unreadable."""
        ...


@dataclass(frozen=True)
class SourceSettings:
    """What a source module's ``build`` may take its settings from; each takes the part it needs."""

    hook_auth: HookAuthSettings
    credentials: Credentials  # the tenant and authority host, for Azure Monitor's Entra token check
    session: requests.Session  # the process's pooled session, for fetching Entra's signing keys
