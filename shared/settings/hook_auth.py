"""What /api/hooks callers must prove beyond the function key: a bearer token, sender signatures, Entra tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from shared.settings.reader import SettingsReader


@dataclass(frozen=True)
class HookAuthSettings:
    # None: not required.
    bearer_token: str | None = field(repr=False)
    github_secret: str | None = field(repr=False)
    grafana_secret: str | None = field(repr=False)
    grafana_timestamp_header: str | None  # the header Grafana's contact point puts its timestamp in
    # The aud values an Azure Monitor secure webhook's Entra token may carry; empty: no token required.
    azure_monitor_audiences: tuple[str, ...]
    # PagerDuty makes a secret per webhook subscription: one per subscription that posts here.
    pagerduty_secrets: tuple[str, ...] = field(default=(), repr=False)
    sentry_client_secret: str | None = field(default=None, repr=False)  # the integration's Client Secret


def read_hook_auth(read: SettingsReader, tenant_id: str | None) -> HookAuthSettings:
    return HookAuthSettings(
        bearer_token=read.secret("HOOK_BEARER_TOKEN"),
        github_secret=read.secret("GITHUB_WEBHOOK_SECRET"),
        grafana_secret=read.secret("GRAFANA_WEBHOOK_SECRET"),
        grafana_timestamp_header=read.text("GRAFANA_WEBHOOK_TIMESTAMP_HEADER"),
        azure_monitor_audiences=_read_monitor_audiences(read, tenant_id),
        pagerduty_secrets=_split_secrets(read, "PAGERDUTY_WEBHOOK_SECRET", read.secret("PAGERDUTY_WEBHOOK_SECRET")),
        sentry_client_secret=read.secret("SENTRY_CLIENT_SECRET"),
    )


def _split_secrets(read: SettingsReader, setting: str, text: str | None) -> tuple[str, ...]:
    """Comma-separated signing secrets (none may be blank)."""
    if text is None:
        return ()
    secrets = tuple(secret.strip() for secret in text.split(","))
    if not all(secrets):
        read.fail(setting, "holds a blank secret between commas")
    return tuple(secret for secret in secrets if secret)


def _read_monitor_audiences(read: SettingsReader, tenant_id: str | None) -> tuple[str, ...]:
    """AZURE_MONITOR_WEBHOOK_AUDIENCE: comma-separated ``aud`` values of the action group's Entra token.

    A v2.0 token (what Azure Monitor asks the app registration for) names the app's client id, a
    v1.0 token its Application ID URI: list both when unsure. Tokens name their tenant by GUID.
    """
    setting = read.text("AZURE_MONITOR_WEBHOOK_AUDIENCE") or ""
    audiences = tuple(audience.strip() for audience in setting.split(",") if audience.strip())
    if audiences:
        try:
            uuid.UUID(tenant_id or "")
        except ValueError:
            read.fail(
                "AZURE_TENANT_ID",
                "AZURE_MONITOR_WEBHOOK_AUDIENCE needs the directory (tenant) GUID here, not a domain name",
            )
    return audiences
