"""Routes: where webhook notifications go. Only routes choose recipients, never the caller.

``MAIL_ROUTES`` (or the file named by ``MAIL_ROUTES_FILE``) is a JSON object mapping a route name
to its settings; ``?route=NAME`` on /api/hooks/{source} picks one. The route named ``default`` is
used without ``?route``; when none is configured, the default route sends to ``MAIL_DEFAULT_TO``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from shared.mail.graph_message import Address, SingleLine
from shared.mail.request import AddressList, SimpleAddress, field_path

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
