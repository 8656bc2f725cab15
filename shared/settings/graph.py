"""Which Microsoft Graph the bridge talks to, and how it proves who it is there (MSAL credentials)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from pathlib import Path

from shared.settings.reader import SettingsReader


@dataclass(frozen=True)
class GraphCloud:
    name: str
    graph_root: str
    authority_host: str


# Graph root and Entra authority per national cloud (https://learn.microsoft.com/graph/deployments).
# The token audience is always the cloud's own Graph root, even when GRAPH_BASE_URL redirects
# the requests (tests, proxies): a token for another audience is refused by Graph.
CLOUDS: dict[str, GraphCloud] = {
    cloud.name: cloud
    for cloud in (
        GraphCloud("global", "https://graph.microsoft.com", "https://login.microsoftonline.com"),
        GraphCloud("usgov", "https://graph.microsoft.us", "https://login.microsoftonline.us"),
        GraphCloud("usgovdod", "https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
        GraphCloud("china", "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    )
}

DEFAULT_SEND_DEADLINE_S = 25.0
# The HTTP trigger is cut at 230 s by the Azure load balancer; stay well clear of it
# (https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout).
MAX_SEND_DEADLINE_S = 200.0

# Tenants MSAL cannot use for client credentials: app-only tokens need one tenant
# (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
_MULTI_TENANT_ALIASES = {"common", "organizations", "consumers"}


class SendMethod(enum.StrEnum):
    """How a message is handed to Graph (MAIL_SEND_METHOD); README, "Send methods"."""

    SENDMAIL = "sendmail"  # one POST /sendMail: never sent twice, but a lost answer stays unknown
    DRAFT = "draft"  # a draft, its attachments, then /send: a lost answer is resolved by asking Graph


class AuthMode(enum.StrEnum):
    MANAGED_IDENTITY = "managed_identity"
    CLIENT_SECRET = "client_secret"  # noqa: S105 (a mode name, not a secret)
    CLIENT_CERTIFICATE = "client_certificate"


@dataclass(frozen=True)
class GraphSettings:
    cloud: GraphCloud
    base_url: str  # where sendMail requests go; no trailing slash
    send_deadline_s: float  # one send, retries included
    # Messages too large for sendMail (4 MB, or an attachment of 3 MB or more) take the draft
    # path whatever this says.
    send_method: SendMethod = SendMethod.SENDMAIL


@dataclass(frozen=True)
class Credentials:
    """What MSAL needs for an app-only Graph token."""

    auth_mode: AuthMode
    audience: str  # the cloud's Graph root
    authority_host: str  # where token requests go (client secret and certificate)
    tenant_id: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    client_certificate_path: Path | None
    client_certificate_password: str | None = field(repr=False)


def read_graph(read: SettingsReader) -> GraphSettings:
    cloud = CLOUDS[read.choice("GRAPH_CLOUD", list(CLOUDS), "global")]
    base_url = read.base_url("GRAPH_BASE_URL", cloud.graph_root, allow_loopback_http=True)
    # Graph's URLs are usually written with their version (https://graph.microsoft.com/v1.0, as on
    # every page of https://learn.microsoft.com/graph/api/overview); we add /v1.0 ourselves, so
    # given, it is taken off rather than doubled (/v1.0/v1.0/... is a 404 that reads as "no mailbox").
    if base_url.lower().endswith("/v1.0"):
        base_url = base_url[: -len("/v1.0")]
    elif base_url.lower().endswith("/beta"):
        read.fail("GRAPH_BASE_URL", "the bridge calls Graph's v1.0 API; give the root (or the /v1.0 URL), not /beta")
    send_deadline_s = DEFAULT_SEND_DEADLINE_S
    deadline_text = read.text("MAIL_SEND_DEADLINE_S")
    if deadline_text is not None:
        try:
            send_deadline_s = float(deadline_text)
        except ValueError:
            send_deadline_s = math.nan
        if not 0 < send_deadline_s <= MAX_SEND_DEADLINE_S:
            read.fail("MAIL_SEND_DEADLINE_S", f"must be a number of seconds in (0, {MAX_SEND_DEADLINE_S:g}]")
            send_deadline_s = DEFAULT_SEND_DEADLINE_S
    send_method = SendMethod(read.choice("MAIL_SEND_METHOD", list(SendMethod), "sendmail"))
    return GraphSettings(cloud=cloud, base_url=base_url, send_deadline_s=send_deadline_s, send_method=send_method)


def read_credentials(read: SettingsReader, cloud: GraphCloud, *, needed: bool) -> Credentials:
    """The credential settings; ``needed``: Graph is the transport, so a token will be asked for."""
    # MSAL itself refuses http:// authorities, so there is no loopback exception here.
    authority_host = read.base_url("AZURE_AUTHORITY_HOST", cloud.authority_host, allow_loopback_http=False)
    tenant_id = read.text("AZURE_TENANT_ID")
    client_id = read.text("AZURE_CLIENT_ID")
    # Set but blank (an unresolved Key Vault reference, an empty pipeline variable) is an error: read as
    # absent, it would quietly swap the app registration for the managed identity.
    client_secret = read.secret("AZURE_CLIENT_SECRET")
    certificate_setting = read.text("AZURE_CLIENT_CERTIFICATE_PATH")
    certificate_path = Path(certificate_setting) if certificate_setting else None

    auth_mode = AuthMode.MANAGED_IDENTITY
    if client_secret and certificate_path:
        read.fail(
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "set either AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, not both",
        )
    elif client_secret:
        auth_mode = AuthMode.CLIENT_SECRET
    elif certificate_path:
        auth_mode = AuthMode.CLIENT_CERTIFICATE
        if not certificate_path.is_file():
            read.fail("AZURE_CLIENT_CERTIFICATE_PATH", f"no file at {certificate_path}")
    if auth_mode is not AuthMode.MANAGED_IDENTITY and needed:
        if not client_id:
            read.fail("AZURE_CLIENT_ID", f"required for {auth_mode} authentication")
        if not tenant_id:
            read.fail("AZURE_TENANT_ID", f"required for {auth_mode} authentication")
        elif tenant_id.lower() in _MULTI_TENANT_ALIASES:
            read.fail("AZURE_TENANT_ID", "must be the tenant id or domain, not a multi-tenant alias")
    return Credentials(
        auth_mode=auth_mode,
        audience=cloud.graph_root,
        authority_host=authority_host,
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        client_certificate_path=certificate_path,
        client_certificate_password=read.text("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
    )
