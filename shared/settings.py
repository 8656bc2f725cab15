"""App settings: read from the environment once, validated into one typed object.

Nothing else in the package reads ``os.environ`` (MSAL reads ``IDENTITY_ENDPOINT`` and
``IDENTITY_HEADER`` itself, as it must). Every problem is collected, not just the first, so
``/api/health`` can name all the settings a user has to fix in one go.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shared.mail.addresses import address_domain, check_address, is_domain
from shared.mail.route import DEFAULT_ROUTE, Route, parse_routes


class TransportKind(enum.StrEnum):
    GRAPH = "graph"
    OUTBOX = "outbox"


class DeliveryMode(enum.StrEnum):
    DIRECT = "direct"  # the HTTP function sends, and answers once Graph has accepted
    QUEUE = "queue"  # the HTTP function enqueues and answers at once; a queue function sends


class AuthMode(enum.StrEnum):
    MANAGED_IDENTITY = "managed_identity"
    CLIENT_SECRET = "client_secret"  # noqa: S105 (a mode name, not a secret)
    CLIENT_CERTIFICATE = "client_certificate"


@dataclass(frozen=True)
class GraphCloud:
    name: str
    graph_root: str
    authority_host: str


# Graph root and Entra authority per national cloud (learn.microsoft.com/graph/deployments).
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

# Tenants MSAL cannot use for client credentials (graph-and-auth.md, Trap 16).
_MULTI_TENANT_ALIASES = {"common", "organizations", "consumers"}

_QUEUE_NAME_RE = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]")  # room for "-poison" within 63

DEFAULT_SEND_DEADLINE_S = 25.0
# The HTTP trigger is cut at 230 s by the Azure load balancer; stay well clear of it.
MAX_SEND_DEADLINE_S = 200.0


# The storage emulator's well-known account (learn.microsoft.com/azure/storage/common/storage-use-azurite).
_DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
DEFAULT_IDEMPOTENCY_TTL_S = 24 * 3600
# Alertmanager and Grafana resend an unchanged group every repeat_interval (4 h by default) on
# purpose; a key derived from the group's state must expire before that or reminders are lost.
DEFAULT_REPEATING_DEDUP_TTL_S = 15 * 60


@dataclass(frozen=True)
class StorageConnection:
    """The AzureWebJobsStorage connection: a connection string, or service URLs and a managed identity."""

    connection_string: str | None = field(default=None, repr=False)
    queue_url: str | None = None
    blob_url: str | None = None
    table_url: str | None = None
    client_id: str | None = None  # user-assigned identity; None: system-assigned


@dataclass(frozen=True)
class SettingProblem:
    setting: str
    message: str


class SettingsError(Exception):
    def __init__(self, problems: list[SettingProblem]) -> None:
        super().__init__("; ".join(f"{p.setting}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    transport: TransportKind
    outbox_dir: Path
    sender: str
    allowed_senders: frozenset[str]  # lower-cased; always includes the sender
    default_to: tuple[str, ...]
    allowed_recipient_domains: frozenset[str]  # lower-cased; empty means any domain
    cloud: GraphCloud
    graph_base_url: str  # where sendMail requests go; no trailing slash
    authority_host: str  # where token requests go (client secret and certificate)
    auth_mode: AuthMode
    tenant_id: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    client_certificate_path: Path | None
    client_certificate_password: str | None = field(repr=False)
    send_deadline_s: float
    delivery: DeliveryMode
    queue_name: str
    storage: StorageConnection | None  # None: no storage (local runs): idempotency stays in-process
    idempotency_ttl_s: int
    repeating_dedup_ttl_s: int
    rate_limit_per_minute: int  # per caller and instance; 0: off
    rate_limit_burst: int
    daily_recipient_budget: int  # per sender mailbox and instance, rolling 24 hours
    routes: dict[str, Route]  # always holds DEFAULT_ROUTE
    templates_dir: Path | None
    # Caller authentication on /api/hooks beyond the function key; None: not required.
    hook_bearer_token: str | None = field(repr=False)
    github_webhook_secret: str | None = field(repr=False)
    grafana_webhook_secret: str | None = field(repr=False)
    grafana_timestamp_header: str | None  # the header Grafana's contact point puts its timestamp in
    # The aud values an Azure Monitor secure webhook's Entra token may carry; empty: no token required.
    azure_monitor_webhook_audiences: tuple[str, ...]

    @property
    def token_audience(self) -> str:
        return self.cloud.graph_root

    def recipient_domain_allowed(self, address: str) -> bool:
        if not self.allowed_recipient_domains:
            return True
        domain = address_domain(address)
        return any(
            domain == allowed or (allowed.startswith("*.") and domain.endswith(allowed[1:]))
            for allowed in self.allowed_recipient_domains
        )


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Reader:
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
            self.fail(setting, "its Key Vault reference did not resolve (check the identity's Key Vault role)")
            return None
        return value or None

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


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the environment into Settings, or raise SettingsError listing every problem."""
    read = _Reader(environ)

    transport = TransportKind(read.choice("MAIL_TRANSPORT", list(TransportKind), "graph"))
    outbox_dir = Path(read.text("MAIL_OUTBOX_DIR") or "outbox")

    sender = ""
    sender_setting = read.text("MAIL_SENDER")
    if sender_setting is None:
        read.fail("MAIL_SENDER", "required: the mailbox the bridge sends as")
    else:
        senders = read.addresses("MAIL_SENDER")
        sender = senders[0] if senders else ""
    allowed_senders = frozenset(a.lower() for a in [sender, *read.addresses("MAIL_ALLOWED_SENDERS")] if a)

    allowed_domains: set[str] = set()
    for item in (read.text("MAIL_ALLOWED_RECIPIENT_DOMAINS") or "").split(","):
        domain = item.strip().lower()
        if not domain:
            continue
        if not is_domain(domain.removeprefix("*.")):
            read.fail("MAIL_ALLOWED_RECIPIENT_DOMAINS", f"'{domain}' is not a domain name")
        allowed_domains.add(domain)

    default_to = tuple(read.addresses("MAIL_DEFAULT_TO"))

    cloud = CLOUDS[read.choice("GRAPH_CLOUD", list(CLOUDS), "global")]
    graph_base_url = read.base_url("GRAPH_BASE_URL", cloud.graph_root, allow_loopback_http=True)
    # MSAL itself refuses http:// authorities, so there is no loopback exception here.
    authority_host = read.base_url("AZURE_AUTHORITY_HOST", cloud.authority_host, allow_loopback_http=False)

    tenant_id = read.text("AZURE_TENANT_ID")
    client_id = read.text("AZURE_CLIENT_ID")
    client_secret = read.text("AZURE_CLIENT_SECRET")
    certificate_setting = read.text("AZURE_CLIENT_CERTIFICATE_PATH")
    certificate_path = Path(certificate_setting) if certificate_setting else None
    certificate_password = read.text("AZURE_CLIENT_CERTIFICATE_PASSWORD")

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
    if auth_mode is not AuthMode.MANAGED_IDENTITY and transport is TransportKind.GRAPH:
        if not client_id:
            read.fail("AZURE_CLIENT_ID", f"required for {auth_mode} authentication")
        if not tenant_id:
            read.fail("AZURE_TENANT_ID", f"required for {auth_mode} authentication")
        elif tenant_id.lower() in _MULTI_TENANT_ALIASES:
            read.fail("AZURE_TENANT_ID", "must be the tenant id or domain, not a multi-tenant alias")

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

    delivery = DeliveryMode(read.choice("MAIL_DELIVERY", list(DeliveryMode), "direct"))
    queue_name = (read.text("MAIL_QUEUE_NAME") or "outbound-mail").lower()
    if not _QUEUE_NAME_RE.fullmatch(queue_name):
        read.fail(
            "MAIL_QUEUE_NAME",
            "3-56 lower-case letters, digits and single hyphens (Azure queue naming, with room for -poison)",
        )
    storage = _read_storage(read)
    if delivery is DeliveryMode.QUEUE and storage is None:
        read.fail("MAIL_DELIVERY", "queue mode needs AzureWebJobsStorage (a connection string or __accountName)")
    idempotency_ttl_s = read.seconds("MAIL_IDEMPOTENCY_TTL_S", DEFAULT_IDEMPOTENCY_TTL_S, maximum=7 * 24 * 3600)
    repeating_dedup_ttl_s = read.seconds(
        "MAIL_REPEATING_DEDUP_TTL_S", DEFAULT_REPEATING_DEDUP_TTL_S, maximum=idempotency_ttl_s
    )

    rate_limit_per_minute = read.count("MAIL_RATE_LIMIT_PER_MINUTE", 300, maximum=100_000)
    rate_limit_burst = read.count("MAIL_RATE_LIMIT_BURST", 100, maximum=100_000, minimum=1)
    daily_recipient_budget = read.count("MAIL_DAILY_RECIPIENT_BUDGET", 8000, maximum=10_000, minimum=1)

    routes = _read_routes(read, default_to)
    templates_setting = read.text("MAIL_TEMPLATES_DIR")
    templates_dir = Path(templates_setting) if templates_setting else None
    if templates_dir is not None and not templates_dir.is_dir():
        read.fail("MAIL_TEMPLATES_DIR", f"no folder at {templates_dir}")

    settings = Settings(
        transport=transport,
        outbox_dir=outbox_dir,
        sender=sender,
        allowed_senders=allowed_senders,
        default_to=default_to,
        allowed_recipient_domains=frozenset(allowed_domains),
        cloud=cloud,
        graph_base_url=graph_base_url,
        authority_host=authority_host,
        auth_mode=auth_mode,
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        client_certificate_path=certificate_path,
        client_certificate_password=certificate_password,
        send_deadline_s=send_deadline_s,
        delivery=delivery,
        queue_name=queue_name,
        storage=storage,
        idempotency_ttl_s=idempotency_ttl_s,
        repeating_dedup_ttl_s=repeating_dedup_ttl_s,
        rate_limit_per_minute=rate_limit_per_minute,
        rate_limit_burst=rate_limit_burst,
        daily_recipient_budget=daily_recipient_budget,
        routes=routes,
        templates_dir=templates_dir,
        hook_bearer_token=read.text("HOOK_BEARER_TOKEN"),
        github_webhook_secret=read.text("GITHUB_WEBHOOK_SECRET"),
        grafana_webhook_secret=read.text("GRAFANA_WEBHOOK_SECRET"),
        grafana_timestamp_header=read.text("GRAFANA_WEBHOOK_TIMESTAMP_HEADER"),
        azure_monitor_webhook_audiences=_read_monitor_audiences(read, tenant_id),
    )
    for address in default_to:
        if not settings.recipient_domain_allowed(address):
            read.fail("MAIL_DEFAULT_TO", f"{address} is outside MAIL_ALLOWED_RECIPIENT_DOMAINS")
    routes_setting = "MAIL_ROUTES_FILE" if read.text("MAIL_ROUTES_FILE") else "MAIL_ROUTES"
    for name, route in routes.items():
        for recipient in route.recipients():
            if not settings.recipient_domain_allowed(recipient.address):
                read.fail(
                    routes_setting, f"route '{name}': {recipient.address} is outside MAIL_ALLOWED_RECIPIENT_DOMAINS"
                )
        if route.from_ is not None and route.from_.lower() not in allowed_senders:
            read.fail(routes_setting, f"route '{name}': from {route.from_} is not in MAIL_ALLOWED_SENDERS")
    if read.problems:
        raise SettingsError(read.problems)
    return settings


def _read_monitor_audiences(read: _Reader, tenant_id: str | None) -> tuple[str, ...]:
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


def _read_routes(read: _Reader, default_to: tuple[str, ...]) -> dict[str, Route]:
    inline = read.text("MAIL_ROUTES")
    file_setting = read.text("MAIL_ROUTES_FILE")
    routes: dict[str, Route] = {}
    if inline and file_setting:
        read.fail("MAIL_ROUTES_FILE", "set either MAIL_ROUTES or MAIL_ROUTES_FILE, not both")
    elif inline or file_setting:
        setting = "MAIL_ROUTES" if inline else "MAIL_ROUTES_FILE"
        try:
            text = inline if inline else Path(file_setting or "").read_text(encoding="utf-8")
            routes = parse_routes(text)
        except OSError as exc:
            read.fail(setting, f"cannot read {file_setting}: {exc.strerror}")
        except ValueError as exc:
            read.fail(setting, str(exc))
    if DEFAULT_ROUTE not in routes:
        routes[DEFAULT_ROUTE] = Route.model_validate({"to": list(default_to)})
    return routes


def _read_storage(read: _Reader) -> StorageConnection | None:
    """AzureWebJobsStorage as the Functions host reads it: a connection string, or identity-based."""
    connection_string = read.text("AzureWebJobsStorage")
    if connection_string:
        if connection_string.replace(" ", "").lower().rstrip(";") == "usedevelopmentstorage=true":
            connection_string = _DEVELOPMENT_STORAGE
        return StorageConnection(connection_string=connection_string)
    account = read.text("AzureWebJobsStorage__accountName")
    urls = {
        service: read.text(f"AzureWebJobsStorage__{service}ServiceUri")
        or (f"https://{account}.{service}.core.windows.net" if account else None)
        for service in ("queue", "blob", "table")
    }
    if not any(urls.values()):
        return None
    for service, url in urls.items():
        if url is not None:
            read.base_url(f"AzureWebJobsStorage__{service}ServiceUri", url, allow_loopback_http=True)
    return StorageConnection(
        queue_url=urls["queue"],
        blob_url=urls["blob"],
        table_url=urls["table"],
        client_id=read.text("AzureWebJobsStorage__clientId"),
    )
