"""The Azure Monitor source: the Entra ID token of a secure webhook, then the payload reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.sources.auth import CallerUnauthorized
from shared.sources.azure_monitor.schema import to_notification
from shared.sources.base import HookRequest
from shared.sources.notification import Notification

if TYPE_CHECKING:
    from shared.sources.azure_monitor.entra_token import EntraWebhookVerifier
    from shared.sources.base import SourceSettings


class AzureMonitorSource:
    """/api/hooks/azure-monitor: the action group's Entra ID token when AZURE_MONITOR_WEBHOOK_AUDIENCE is set.

    Never HOOK_BEARER_TOKEN: an action group cannot add an Authorization header of our choosing; a
    secure webhook sends its own Entra token (learn.microsoft.com/azure/azure-monitor/alerts/action-groups).
    """

    name = "azure-monitor"

    def __init__(self, *, token_required: bool, verifier: EntraWebhookVerifier | None) -> None:
        self._token_required = token_required
        self._verifier = verifier

    def verify(self, request: HookRequest) -> None:
        """Raise a 401 unless the Entra token is valid; the verifier may also raise a 503 when Entra's
        signing keys cannot be fetched, which action groups retry."""
        if not self._token_required:
            return
        if self._verifier is None:  # fail closed: the setting asks for a check nobody would make
            raise CallerUnauthorized("AZURE_MONITOR_WEBHOOK_AUDIENCE is set but no Entra token verifier was built.")
        self._verifier.verify(request.headers.get("Authorization"))

    def read(self, request: HookRequest) -> Notification:
        return to_notification(request)


def build(settings: SourceSettings) -> AzureMonitorSource:
    """One verifier per process: its signing-key cache lives as long as the process."""
    audiences = settings.hook_auth.azure_monitor_audiences
    tenant_id = settings.credentials.tenant_id
    verifier = None
    if audiences and tenant_id is not None:
        # Imported here: PyJWT and its crypto cost ~130 ms of cold start that only this feature needs.
        from shared.sources.azure_monitor.entra_token import EntraWebhookVerifier

        verifier = EntraWebhookVerifier(
            audience=audiences,
            tenant_id=tenant_id,
            authority_host=settings.credentials.authority_host,
            session=settings.session,
        )
    return AzureMonitorSource(token_required=bool(audiences), verifier=verifier)
