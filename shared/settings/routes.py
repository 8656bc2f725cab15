"""Routes: where webhook notifications go. Only routes choose recipients, never the caller.

``MAIL_ROUTES`` (or the file named by ``MAIL_ROUTES_FILE``) is a JSON object mapping a route name
to its settings; ``?route=NAME`` on /api/hooks/{source} picks one. The route named ``default`` is
used without ``?route``; when none is configured, the default route sends to ``MAIL_DEFAULT_TO``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from shared.addresses import Address, AddressList, SimpleAddress, SingleLine
from shared.problems import field_path
from shared.settings.policy import PolicySettings
from shared.settings.reader import SettingsReader

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

    def recipients(self) -> list[SimpleAddress]:
        return [*self.to, *self.cc, *self.bcc]


def parse_routes(text: str) -> dict[str, Route]:
    """Parse the MAIL_ROUTES JSON; raise ValueError with every problem, each naming its route and field."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise ValueError("must be a JSON object mapping route names to route settings")
    routes: dict[str, Route] = {}
    problems: list[str] = []
    for name, value in raw.items():
        if not _NAME_RE.fullmatch(name):
            problems.append(f"route name '{name[:64]}': use letters, digits, '_', '.' and '-'")
            continue
        try:
            routes[name] = Route.model_validate(value)
        except ValidationError as exc:
            for error in exc.errors():
                where = field_path(error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "extra_forbidden":
                    message = "unknown route setting"
                problems.append(f"route '{name}'{'.' + where if where else ''}: {message}")
    if problems:
        raise ValueError("; ".join(problems))
    return routes


def read_routes(read: SettingsReader, policy: PolicySettings) -> dict[str, Route]:
    """MAIL_ROUTES or MAIL_ROUTES_FILE, checked against the allow-lists; always with a ``default`` route."""
    inline = read.text("MAIL_ROUTES")
    file_setting = read.text("MAIL_ROUTES_FILE")
    routes: dict[str, Route] = {}
    setting = "MAIL_ROUTES_FILE" if file_setting else "MAIL_ROUTES"
    if inline and file_setting:
        read.fail("MAIL_ROUTES_FILE", "set either MAIL_ROUTES or MAIL_ROUTES_FILE, not both")
    elif inline or file_setting:
        try:
            text = inline if inline else Path(file_setting or "").read_text(encoding="utf-8")
            routes = parse_routes(text)
        except OSError as exc:
            read.fail(setting, f"cannot read {file_setting}: {exc.strerror}")
        except ValueError as exc:
            read.fail(setting, str(exc))
    if DEFAULT_ROUTE not in routes:
        routes[DEFAULT_ROUTE] = Route()  # its recipients are MAIL_DEFAULT_TO, which policy applies
    for name, route in routes.items():
        for recipient in route.recipients():
            if not policy.recipient_domain_allowed(recipient.address):
                read.fail(setting, f"route '{name}': {recipient.address} is outside MAIL_ALLOWED_RECIPIENT_DOMAINS")
        if route.from_ is not None and route.from_.lower() not in policy.allowed_senders:
            read.fail(setting, f"route '{name}': from {route.from_} is not in MAIL_ALLOWED_SENDERS")
    return routes
