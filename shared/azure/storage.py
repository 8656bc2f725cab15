"""Azure Storage clients for queue mode and idempotency, from the AzureWebJobsStorage connection.

The Azure SDK packages are imported here and only here, on first use, so a bridge that never
touches storage never pays for importing them. In Azure the connection is identity-based: the
same user-assigned managed identity as everything else, through MSAL, so no azure-identity.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import msal
import requests

from shared.settings.delivery import StorageConnection

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.data.tables import TableClient
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient

STORAGE_RESOURCE = "https://storage.azure.com"
# How much each new reading moves the clock's estimate: readings carry whole seconds (an HTTP date),
# so one reading is up to a second off; averaging brings the estimate within a fraction of one.
_CLOCK_SMOOTHING = 0.2
ClientT = TypeVar("ClientT")


class ManagedIdentityStorageCredential:
    """An azure-core TokenCredential backed by MSAL's managed identity client and its cache."""

    def __init__(self, client_id: str | None, session: requests.Session) -> None:
        identity: msal.SystemAssignedManagedIdentity | msal.UserAssignedManagedIdentity = (
            msal.UserAssignedManagedIdentity(client_id=client_id) if client_id else msal.SystemAssignedManagedIdentity()
        )
        self._client = msal.ManagedIdentityClient(identity, http_client=session, token_cache=msal.TokenCache())
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken
        from azure.core.exceptions import ClientAuthenticationError

        resource = scopes[0].removesuffix("/.default") if scopes else STORAGE_RESOURCE
        with self._lock:
            result = self._client.acquire_token_for_client(resource=resource)
        if "access_token" not in result:
            raise ClientAuthenticationError(f"managed identity token for storage refused: {result.get('error')}")
        return AccessToken(result["access_token"], int(time.time()) + int(result.get("expires_in", 300)))

    def close(self) -> None:
        """Nothing to release; the SDK calls this when a client closes."""


class StorageClock:
    """Time as the storage service tells it, the one clock every instance of the bridge shares.

    Each instance's own clock may be off by seconds or more; leases and rate windows written by
    one instance and read by another must not depend on that. Every storage response carries the
    service's time in its ``Date`` header (https://learn.microsoft.com/rest/api/storageservices/
    common-rest-api-headers); this clock is the local one plus the offset those headers show,
    good to about a second, which the mailbox limits' windows (a minute, ten minutes, a day) and
    leases (tens of seconds) are far longer than.
    """

    def __init__(self) -> None:
        self._offset_s: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + (self._offset_s or 0.0)

    def observe(self, pipeline_response: Any) -> None:
        """A ``raw_response_hook`` for the storage SDKs: read the service's time off a response."""
        received_at = time.time()
        date = pipeline_response.http_response.headers.get("Date")
        if not date:
            return
        try:
            served_at = email.utils.parsedate_to_datetime(date).timestamp() + 0.5  # mid-second
        except (TypeError, ValueError):
            return
        offset = served_at - received_at
        with self._lock:
            previous = self._offset_s
            self._offset_s = offset if previous is None else previous + _CLOCK_SMOOTHING * (offset - previous)


class StorageClients:
    """One client per queue, container and table, made on first use and kept for the process."""

    def __init__(self, connection: StorageConnection, session: requests.Session) -> None:
        self._connection = connection
        self._credential = (
            None if connection.connection_string else ManagedIdentityStorageCredential(connection.client_id, session)
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.clock = StorageClock()

    def queue(self, name: str) -> QueueClient:
        def make() -> QueueClient:
            from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

            # The Functions queue trigger reads base64 text (host.json messageEncoding "base64").
            codec: dict[str, Any] = {
                "message_encode_policy": TextBase64EncodePolicy(),
                "message_decode_policy": TextBase64DecodePolicy(),
            }
            if self._connection.connection_string:
                return QueueClient.from_connection_string(self._connection.connection_string, name, **codec)
            assert self._connection.queue_url is not None
            return QueueClient(self._connection.queue_url, name, credential=self._credential, **codec)

        return self._client("queue", name, make)

    def container(self, name: str) -> ContainerClient:
        def make() -> ContainerClient:
            from azure.storage.blob import ContainerClient

            if self._connection.connection_string:
                return ContainerClient.from_connection_string(self._connection.connection_string, name)
            assert self._connection.blob_url is not None
            return ContainerClient(self._connection.blob_url, name, credential=self._credential)

        return self._client("blob", name, make)

    def table(self, name: str) -> TableClient:
        def make() -> TableClient:
            from azure.data.tables import TableClient

            # Every table response sets the shared clock: the mailbox limits' leases and windows use it.
            hook: dict[str, Any] = {"raw_response_hook": self.clock.observe}
            if self._connection.connection_string:
                return TableClient.from_connection_string(self._connection.connection_string, name, **hook)
            assert self._connection.table_url is not None
            return TableClient(self._connection.table_url, name, credential=self._credential, **hook)

        return self._client("table", name, make)

    def _client(self, kind: str, name: str, make: Callable[[], ClientT]) -> ClientT:
        with self._lock:
            if (kind, name) not in self._clients:
                client = make()
                _create_if_missing(kind, client)
                self._clients[(kind, name)] = client
            return cast(ClientT, self._clients[(kind, name)])


def _create_if_missing(kind: str, client: Any) -> None:
    """Infra creates the queues, container and table in Azure; Azurite starts empty."""
    from azure.core.exceptions import HttpResponseError, ResourceExistsError

    create = {"queue": "create_queue", "blob": "create_container", "table": "create_table"}[kind]
    try:
        getattr(client, create)()
    except ResourceExistsError:
        pass
    except HttpResponseError as exc:
        # An identity with data roles only may not create; the resource then exists already.
        if exc.status_code != 403:
            raise
