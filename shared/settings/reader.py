"""The one place app settings are read from: a reader that collects every problem, not just the first.

So ``/api/health`` can name all the settings a user has to fix in one go.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.addresses import check_address

# Problems said in fixed words, holding no configured value: /api/health, which is anonymous, may
# show them as they are. Every other message may quote a value (an address, a path) and is shown
# only to callers with a function key.
KEY_VAULT_UNRESOLVED = "its Key Vault reference did not resolve (check the identity's Key Vault role)"
BLANK_SETTING = "is set but blank; remove the setting to turn its check off, or give it a value"
VALUE_FREE_MESSAGES = frozenset({KEY_VAULT_UNRESOLVED, BLANK_SETTING})


@dataclass(frozen=True)
class SettingProblem:
    setting: str
    message: str


class SettingsError(Exception):
    def __init__(self, problems: list[SettingProblem]) -> None:
        super().__init__("; ".join(f"{p.setting}: {p.message}" for p in problems))
        self.problems = problems


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsReader:
    """Reads settings and collects every problem instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[SettingProblem] = []

    def fail(self, setting: str, message: str) -> None:
        self.problems.append(SettingProblem(setting, message))

    def text(self, setting: str) -> str | None:
        value = self.environ.get(setting, "").strip()
        if value.startswith("@Microsoft.KeyVault("):
            # App Service passes an unresolved Key Vault reference through as its literal text;
            # used as a bearer token or HMAC secret, that text would be guessable.
            self.fail(setting, KEY_VAULT_UNRESOLVED)
            return None
        return value or None

    def secret(self, setting: str) -> str | None:
        """A secret that turns a check on; None when the setting is absent.

        Set but blank (a typo, an empty variable in a pipeline, a Key Vault secret whose value is
        empty) is a configuration error: read as "not set", it would silently turn the check off.
        """
        if setting in self.environ and not self.environ[setting].strip():
            self.fail(setting, BLANK_SETTING)
            return None
        return self.text(setting)

    def addresses(self, setting: str) -> list[str]:
        valid = []
        for item in (self.text(setting) or "").split(","):
            if not item.strip():
                continue
            try:
                valid.append(check_address(item))
            except ValueError as exc:
                self.fail(setting, str(exc))
        return valid

    def choice(self, setting: str, choices: list[str], default: str) -> str:
        value = (self.text(setting) or default).lower()
        if value not in choices:
            self.fail(setting, f"must be one of {', '.join(choices)} (got '{value}')")
            return default
        return value

    def count(self, setting: str, default: int, *, maximum: int, minimum: int = 0) -> int:
        text = self.text(setting)
        if text is None:
            return default
        if not text.isdigit() or not minimum <= int(text) <= maximum:
            self.fail(setting, f"must be a whole number from {minimum} to {maximum}")
            return default
        return int(text)

    def seconds(self, setting: str, default: int, *, maximum: int) -> int:
        text = self.text(setting)
        if text is None:
            return min(default, maximum)
        if not text.isdigit() or not 0 < int(text) <= maximum:
            self.fail(setting, f"must be a whole number of seconds from 1 to {maximum}")
            return min(default, maximum)
        return int(text)

    def base_url(self, setting: str, default: str, *, allow_loopback_http: bool) -> str:
        value = (self.text(setting) or default).rstrip("/")
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.query or parts.fragment or not host:
            self.fail(setting, "must be an absolute URL like https://host[:port] without query")
        elif parts.scheme == "https":
            pass
        elif parts.scheme == "http" and allow_loopback_http and is_loopback_host(host):
            pass  # bearer tokens may cross plain HTTP only inside this machine
        elif parts.scheme == "http":
            self.fail(setting, "plain http:// is refused (tokens would travel unencrypted); use https://")
        else:
            self.fail(setting, "must start with https://")
        return value
