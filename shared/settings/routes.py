"""Routes: where webhook notifications go. Only routes choose recipients, never the caller.

``MAIL_ROUTES`` (or the file named by ``MAIL_ROUTES_FILE``) is a JSON object mapping a route name
to its settings; ``?route=NAME`` on /api/hooks/{source} picks one. The route named ``default`` is
used without ``?route``; when none is configured, the default route sends to ``MAIL_DEFAULT_TO``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from shared.addresses import Address, AddressList, SimpleAddress, SingleLine
from shared.problems import field_path
from shared.settings.mapping import Mapping
from shared.settings.policy import PolicySettings
from shared.settings.reader import SettingProblem

DEFAULT_ROUTE = "default"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise ValueError("use letters, digits, '_', '.' and '-' (at most 64)")
    return name


TemplateName = Annotated[StrictStr, AfterValidator(_check_name)]


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True)

    to: AddressList = []
    cc: AddressList = []
    bcc: AddressList = []
    from_: Address | None = Field(None, alias="from")
    subject_prefix: SingleLine | None = Field(None, alias="subjectPrefix", max_length=60)
    send_resolved: StrictBool = Field(True, alias="sendResolved")
    format: Literal["html", "text"] = "html"
    template: TemplateName | None = None
    # Sender event kinds this route wants (GitHub: "workflow_run", "release", ...); None: the
    # source's own defaults.
    events: list[Annotated[StrictStr, AfterValidator(_check_name)]] | None = None
    # Notifications past the sender mailbox's pace or budget are held for one digest mail of this
    # route (needs storage); false: they are refused with 429 (direct) or wait on the queue.
    digest: StrictBool = True
    # How /api/hooks/generic reads a payload (shared/settings/mapping.py); other sources ignore it.
    mapping: Mapping | None = None
    # A new mail thread each UTC day ("daily") or one for ever ("none"); None: MAIL_THREAD_BY_DATE.
    thread_by_date: Literal["none", "daily"] | None = Field(None, alias="threadByDate")

    def recipients(self) -> list[SimpleAddress]:
        return [*self.to, *self.cc, *self.bcc]


@dataclass(frozen=True)
class RouteProblems:
    """Routes that cannot be used, and why: a bad route makes only itself unusable.

    Every other route, and /api/mail, keep working; /api/health warns about the rest.
    """

    every_route: SettingProblem | None = None  # MAIL_ROUTES itself is unreadable: no route is usable
    by_route: dict[str, list[SettingProblem]] = field(default_factory=dict)

    def of(self, route_name: str) -> list[SettingProblem]:
        """Why this route cannot be used; empty when it can."""
        if self.every_route is not None:
            return [self.every_route]
        return self.by_route.get(route_name, [])

    def all(self) -> list[SettingProblem]:
        every = [self.every_route] if self.every_route else []
        return every + [problem for problems in self.by_route.values() for problem in problems]


def parse_routes(text: str) -> dict[str, Route]:
    """Parse the MAIL_ROUTES JSON; raise ValueError with every problem, each naming its route and field."""
    routes, problems = _parse_route_table(text)
    if problems:
        raise ValueError("; ".join(message for messages in problems.values() for message in messages))
    return routes


def _parse_route_table(text: str) -> tuple[dict[str, Route], dict[str, list[str]]]:
    """The routes that validate, and the problems of each that does not; ValueError if the text is no route table."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise ValueError("must be a JSON object mapping route names to route settings")
    routes: dict[str, Route] = {}
    problems: dict[str, list[str]] = {}
    for name, value in raw.items():
        if not _NAME_RE.fullmatch(name):
            problems.setdefault(name, []).append(f"route name '{name[:64]}': use letters, digits, '_', '.' and '-'")
            continue
        try:
            routes[name] = Route.model_validate(value)
        except ValidationError as exc:
            for error in exc.errors():
                where = field_path(error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "extra_forbidden":
                    message = "unknown route setting"
                problems.setdefault(name, []).append(f"route '{name}'{'.' + where if where else ''}: {message}")
    return routes, problems


def routes_of(setting: str, text: str | None, policy: PolicySettings) -> tuple[dict[str, Route], RouteProblems]:
    """The route table ``setting`` holds (``text``; None when unset), checked against the allow-lists.

    Always with a ``default`` route. A route's own problems do not fail the settings: they make that
    route unusable (RouteProblems).
    """
    routes: dict[str, Route] = {}
    by_route: dict[str, list[SettingProblem]] = {}
    if text is not None:
        try:
            routes, messages = _parse_route_table(text)
        except ValueError as exc:
            return {}, RouteProblems(SettingProblem(setting, str(exc)))
        by_route = {name: [SettingProblem(setting, message) for message in found] for name, found in messages.items()}
    if DEFAULT_ROUTE not in routes and DEFAULT_ROUTE not in by_route:
        routes[DEFAULT_ROUTE] = Route()  # its recipients are MAIL_DEFAULT_TO, which policy applies
    for name, route in routes.items():
        for recipient in route.recipients():
            if not policy.recipient_domain_allowed(recipient.address):
                by_route.setdefault(name, []).append(
                    SettingProblem(
                        setting, f"route '{name}': {recipient.address} is outside MAIL_ALLOWED_RECIPIENT_DOMAINS"
                    )
                )
        if route.from_ is not None and not policy.from_allowed(route.from_):
            by_route.setdefault(name, []).append(
                SettingProblem(
                    setting, f"route '{name}': from {route.from_} is not in MAIL_ALLOWED_SENDERS or MAIL_ALLOWED_FROM"
                )
            )
    usable = {name: route for name, route in routes.items() if name not in by_route}
    return usable, RouteProblems(by_route=by_route)
