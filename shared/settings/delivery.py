"""How an approved message travels: the transport, direct or queued delivery, storage, dedup windows."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path

from shared.settings.reader import SettingsReader


class TransportKind(enum.StrEnum):
    GRAPH = "graph"
    OUTBOX = "outbox"


class DeliveryMode(enum.StrEnum):
    DIRECT = "direct"  # the HTTP function sends, and answers once Graph has accepted
    QUEUE = "queue"  # the HTTP function enqueues and answers at once; a queue function sends


@dataclass(frozen=True)
class StorageConnection:
    """The AzureWebJobsStorage connection: a connection string, or service URLs and a managed identity."""

    connection_string: str | None = field(default=None, repr=False)
    queue_url: str | None = None
    blob_url: str | None = None
    table_url: str | None = None
    client_id: str | None = None  # user-assigned identity; None: system-assigned


@dataclass(frozen=True)
class DeliverySettings:
    transport: TransportKind
    outbox_dir: Path
    mode: DeliveryMode
    queue_name: str
    storage: StorageConnection | None  # None: no storage (local runs): idempotency stays in-process
    idempotency_ttl_s: int
    repeating_dedup_ttl_s: int


# Azure queue naming (https://learn.microsoft.com/rest/api/storageservices/naming-queues-and-metadata),
# with room for "-poison" within 63 characters.
_QUEUE_NAME_RE = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]")

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


def read_delivery(read: SettingsReader) -> DeliverySettings:
    transport = TransportKind(read.choice("MAIL_TRANSPORT", list(TransportKind), "graph"))
    mode = DeliveryMode(read.choice("MAIL_DELIVERY", list(DeliveryMode), "direct"))
    queue_name = (read.text("MAIL_QUEUE_NAME") or "outbound-mail").lower()
    if not _QUEUE_NAME_RE.fullmatch(queue_name):
        read.fail(
            "MAIL_QUEUE_NAME",
            "3-56 lower-case letters, digits and single hyphens (Azure queue naming, with room for -poison)",
        )
    storage = _read_storage(read)
    if mode is DeliveryMode.QUEUE and storage is None:
        read.fail("MAIL_DELIVERY", "queue mode needs AzureWebJobsStorage (a connection string or __accountName)")
    idempotency_ttl_s = read.seconds("MAIL_IDEMPOTENCY_TTL_S", DEFAULT_IDEMPOTENCY_TTL_S, maximum=7 * 24 * 3600)
    return DeliverySettings(
        transport=transport,
        outbox_dir=Path(read.text("MAIL_OUTBOX_DIR") or "outbox"),
        mode=mode,
        queue_name=queue_name,
        storage=storage,
        idempotency_ttl_s=idempotency_ttl_s,
        repeating_dedup_ttl_s=read.seconds(
            "MAIL_REPEATING_DEDUP_TTL_S", DEFAULT_REPEATING_DEDUP_TTL_S, maximum=idempotency_ttl_s
        ),
    )


def _read_storage(read: SettingsReader) -> StorageConnection | None:
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
