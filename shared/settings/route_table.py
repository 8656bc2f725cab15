"""The routes as the settings hold them: read at start with every other setting, validated on first use.

Reading ``MAIL_ROUTES`` (or the file ``MAIL_ROUTES_FILE`` names) happens in ``load_settings``; turning
the text into Route models (``shared.settings.routes``) waits for the first webhook or /api/health.
A bad route never fails the settings (it makes only itself unusable, ``RouteProblems``), so nothing
is told later than before, and /api/mail, which routes nothing, does not build the Route models and
their generic mappings on its cold start (bench/results.md, "Cold start").
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from shared.settings.policy import PolicySettings
from shared.settings.reader import SettingProblem, SettingsReader

if TYPE_CHECKING:
    from shared.settings.routes import Route, RouteProblems


class RouteTable:
    """The route table one setting holds, parsed and checked against the allow-lists once, on first use."""

    def __init__(
        self, setting: str, text: str | None, policy: PolicySettings, *, unreadable: SettingProblem | None = None
    ) -> None:
        self.setting = setting
        self._text = text
        self._policy = policy
        self._unreadable = unreadable

    @property
    def routes(self) -> dict[str, Route]:
        """The usable routes; ``default`` unless it is itself broken."""
        return self._parsed[0]

    @property
    def problems(self) -> RouteProblems:
        """Why the others cannot be used."""
        return self._parsed[1]

    @cached_property
    def _parsed(self) -> tuple[dict[str, Route], RouteProblems]:
        # Parsing is pure: two threads racing here (cached_property takes no lock from Python 3.12
        # on) would build equal tables, and one is kept.
        from shared.settings.routes import RouteProblems, routes_of

        if self._unreadable is not None:
            return {}, RouteProblems(self._unreadable)
        return routes_of(self.setting, self._text, self._policy)


def read_route_table(read: SettingsReader, policy: PolicySettings) -> RouteTable:
    """MAIL_ROUTES or the file MAIL_ROUTES_FILE names, read now; parsed when first asked for."""
    inline = read.text("MAIL_ROUTES")
    file_setting = read.text("MAIL_ROUTES_FILE")
    if inline and file_setting:
        problem = SettingProblem("MAIL_ROUTES_FILE", "set either MAIL_ROUTES or MAIL_ROUTES_FILE, not both")
        return RouteTable("MAIL_ROUTES_FILE", None, policy, unreadable=problem)
    if not file_setting:
        return RouteTable("MAIL_ROUTES", inline, policy)
    try:
        text = Path(file_setting).read_text(encoding="utf-8")
    except OSError as exc:
        problem = SettingProblem("MAIL_ROUTES_FILE", f"cannot read {file_setting}: {exc.strerror}")
        return RouteTable("MAIL_ROUTES_FILE", None, policy, unreadable=problem)
    return RouteTable("MAIL_ROUTES_FILE", text, policy)
