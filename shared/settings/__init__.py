"""App settings: read from the environment once, at start, into one typed object made of parts.

Each component takes only its part: the Graph transport ``graph``, the token provider
``credentials``, mail policy ``policy``, the sources ``hook_auth``, delivery ``delivery``, the
abuse limits ``limits``. Nothing else in the package reads ``os.environ`` (MSAL reads
``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` itself, as it must). Every problem is collected,
not just the first, so ``/api/health`` can name all the settings a user has to fix in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.settings.delivery import DeliveryMode, DeliverySettings, TransportKind, read_delivery
from shared.settings.graph import Credentials, GraphSettings, read_credentials, read_graph
from shared.settings.hook_auth import HookAuthSettings, read_hook_auth
from shared.settings.limits import LimitSettings, read_limits
from shared.settings.message_format import MessageFormatSettings, read_message_format
from shared.settings.policy import PolicySettings, read_policy
from shared.settings.reader import SettingProblem, SettingsError, SettingsReader
from shared.settings.route_table import RouteTable, read_route_table

if TYPE_CHECKING:
    from shared.settings.routes import Route, RouteProblems

# Settings and load_settings, and the parts, which components name in their type hints.
__all__ = [
    "Credentials",
    "DeliveryMode",
    "DeliverySettings",
    "GraphSettings",
    "HookAuthSettings",
    "LimitSettings",
    "MessageFormatSettings",
    "PolicySettings",
    "SettingProblem",
    "Settings",
    "SettingsError",
    "TransportKind",
    "load_settings",
]


@dataclass(frozen=True)
class Settings:
    graph: GraphSettings
    credentials: Credentials
    policy: PolicySettings
    hook_auth: HookAuthSettings
    delivery: DeliverySettings
    limits: LimitSettings
    route_table: RouteTable  # read now, validated on first use (the first webhook or /api/health)
    templates_dir: Path | None
    message_format: MessageFormatSettings = field(default_factory=MessageFormatSettings)

    @property
    def routes(self) -> dict[str, Route]:
        """The usable routes; DEFAULT_ROUTE unless it is itself broken."""
        return self.route_table.routes

    @property
    def route_problems(self) -> RouteProblems:
        """Why the other routes cannot be used."""
        return self.route_table.problems


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the environment into Settings, or raise SettingsError listing every problem."""
    read = SettingsReader(environ)
    graph = read_graph(read)
    delivery = read_delivery(read)
    credentials = read_credentials(read, graph.cloud, needed=delivery.transport is TransportKind.GRAPH)
    policy = read_policy(read)
    templates_setting = read.text("MAIL_TEMPLATES_DIR")
    templates_dir = Path(templates_setting) if templates_setting else None
    if templates_dir is not None and not templates_dir.is_dir():
        read.fail("MAIL_TEMPLATES_DIR", f"no folder at {templates_dir}")
    route_table = read_route_table(read, policy)
    settings = Settings(
        graph=graph,
        credentials=credentials,
        policy=policy,
        hook_auth=read_hook_auth(read, credentials.tenant_id),
        delivery=delivery,
        limits=read_limits(read),
        route_table=route_table,
        templates_dir=templates_dir,
        message_format=read_message_format(read),
    )
    if read.problems:
        raise SettingsError(read.problems)
    return settings
