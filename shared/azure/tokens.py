"""App-only Graph tokens from MSAL: managed identity, client secret or client certificate.

One MSAL client per process and MSAL's in-memory cache behind it, so a token is fetched once per
token lifetime, not once per message: the cache belongs to the client object
(https://learn.microsoft.com/entra/identity-platform/msal-acquire-cache-tokens). The client is
built on first use, not at import: the confidential client's constructor makes a discovery call.
Its failures are delivery categories (``shared.problems``): TokenUnavailable is RetryLater,
TokenRefused is Refused.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

import msal
import msal.exceptions
import requests

from shared.logs import get_logger
from shared.problems import Refused, RetryLater
from shared.settings import Credentials
from shared.settings.graph import AuthMode

log = get_logger(__name__)

# MSAL's own calls (discovery, token, managed identity endpoint) get this timeout; the
# requests library has none by default and a hung token endpoint must not hang a send.
TOKEN_HTTP_TIMEOUT_S = 10.0
# MSAL replays a failed token call from its throttle cache for 5 s (msal/throttled_http_client.py in
# https://github.com/AzureAD/microsoft-authentication-library-for-python).
TOKEN_RETRY_AFTER_S = 5
# MSAL's cache lookup costs tens of µs on every send (bench/results.md, "token"): the token it
# returned is reused for up to a minute, and never within 5 minutes of its expiry, the margin MSAL
# itself keeps. MSAL is still asked once a minute, so its proactive refresh still happens.
TOKEN_REUSE_S = 60.0
_EXPIRY_MARGIN_S = 300.0


class TokenRefused(Refused):
    """The identity provider answered and said no: a configuration problem, not worth a retry."""

    status = 502
    code = "token_refused"
    title = "The identity provider refused a token for Microsoft Graph"


class TokenUnavailable(RetryLater):
    """The identity provider could not be reached or failed: worth a retry later."""

    status = 503
    code = "token_unavailable"
    title = "No access token for Microsoft Graph"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after_s=TOKEN_RETRY_AFTER_S)


class TokenProvider(Protocol):
    def access_token(self, *, refused: str | None = None) -> str:
        """A bearer token for Graph; after a 401, pass the ``refused`` token to get another."""
        ...


class _TimeoutHttpClient:
    """The shared session, with the timeout MSAL cannot set on an injected client."""

    def __init__(self, session: requests.Session, timeout_s: float) -> None:
        self._session = session
        self._timeout_s = timeout_s

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        return self._session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        """The session is shared with the Graph transport; it outlives MSAL's clients."""


class MsalTokenProvider:
    def __init__(self, credentials: Credentials, session: requests.Session) -> None:
        self._credentials = credentials
        self._http_client = _TimeoutHttpClient(session, TOKEN_HTTP_TIMEOUT_S)
        self._cache = msal.TokenCache()
        self._client: msal.ManagedIdentityClient | msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        # MSAL does not merge concurrent cache misses: twenty threads starting at once would fetch
        # twenty tokens. Holding a lock around acquisition costs a cache lookup's time and keeps it one.
        self._acquire_lock = threading.Lock()
        self._reused: tuple[str, float] | None = None  # the last token, and until when (monotonic)

    def access_token(self, *, refused: str | None = None) -> str:
        reused = self._reused
        if refused is None and reused is not None and time.monotonic() < reused[1]:
            return reused[0]
        client = self._msal_client()
        try:
            with self._acquire_lock:
                if refused:
                    self._forget(refused)
                result = self._acquire(client)
        except (requests.RequestException, ValueError, msal.exceptions.MsalError) as exc:
            # Transport failures, 5xx and unreadable answers: log the kind, never the exchange itself.
            log.warning("token request failed: %s", type(exc).__name__)
            raise TokenUnavailable(
                f"The {self._credentials.auth_mode} token request failed ({type(exc).__name__})."
            ) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "unknown") if isinstance(result, dict) else "unknown"
            # error_description carries AADSTS codes and trace ids, which help, and no secrets.
            description = result.get("error_description", "") if isinstance(result, dict) else ""
            log.error("token refused by the identity provider: %s %s", error, description)
            raise TokenRefused(
                f"The identity provider refused the {self._credentials.auth_mode} token request ({error}). "
                "Check AZURE_TENANT_ID, AZURE_CLIENT_ID and the credential.",
                extra={"identityError": error},
            )
        if result.get("token_source") != "cache":
            log.info("new Graph token from the identity provider (%s)", self._credentials.auth_mode)
        reuse_s = min(TOKEN_REUSE_S, float(result.get("expires_in") or 0) - _EXPIRY_MARGIN_S)
        self._reused = (str(token), time.monotonic() + reuse_s) if reuse_s > 0 else None
        return str(token)

    def _forget(self, refused: str) -> None:
        """Drop a token Graph refused, so MSAL asks again; a token already replaced stays."""
        for entry in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            if entry.get("secret") == refused:
                self._cache.remove_at(entry)

    def _acquire(self, client: msal.ManagedIdentityClient | msal.ConfidentialClientApplication) -> Any:
        if isinstance(client, msal.ManagedIdentityClient):
            # Managed identity takes the bare resource, keyword-only, not a scope
            # (https://learn.microsoft.com/python/api/msal/msal.managed_identity.managedidentityclient).
            return client.acquire_token_for_client(resource=self._credentials.audience)
        return client.acquire_token_for_client(scopes=[f"{self._credentials.audience}/.default"])

    def _msal_client(self) -> msal.ManagedIdentityClient | msal.ConfidentialClientApplication:
        with self._lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> msal.ManagedIdentityClient | msal.ConfidentialClientApplication:
        credentials = self._credentials
        if credentials.auth_mode is AuthMode.MANAGED_IDENTITY:
            identity: msal.SystemAssignedManagedIdentity | msal.UserAssignedManagedIdentity = (
                msal.UserAssignedManagedIdentity(client_id=credentials.client_id)
                if credentials.client_id
                else msal.SystemAssignedManagedIdentity()
            )
            return msal.ManagedIdentityClient(identity, http_client=self._http_client, token_cache=self._cache)
        try:
            return msal.ConfidentialClientApplication(
                credentials.client_id,
                client_credential=self._credential(),
                authority=f"{credentials.authority_host}/{credentials.tenant_id}",
                # Instance discovery would call login.microsoftonline.com even for a custom or
                # national authority host; the authority we are given is the one we trust.
                instance_discovery=False,
                http_client=self._http_client,
                token_cache=self._cache,
            )
        except (requests.RequestException, ValueError, KeyError, msal.exceptions.MsalError) as exc:
            log.error("could not reach the token authority: %s", type(exc).__name__)
            raise TokenUnavailable(
                f"Could not read the authority {credentials.authority_host}/{credentials.tenant_id} "
                f"({type(exc).__name__}). Check AZURE_AUTHORITY_HOST and AZURE_TENANT_ID."
            ) from None

    def _credential(self) -> str | dict[str, Any]:
        credentials = self._credentials
        if credentials.auth_mode is AuthMode.CLIENT_SECRET:
            assert credentials.client_secret is not None
            return credentials.client_secret
        assert credentials.client_certificate_path is not None
        return certificate_credential(credentials.client_certificate_path, credentials.client_certificate_password)


def certificate_credential(path: Path, password: str | None) -> dict[str, Any]:
    """MSAL's credential dict for a PEM (key + certificate) or PKCS#12 file, as azure-identity reads them."""
    if path.suffix.lower() in {".pfx", ".p12"}:
        # MSAL ≥ 1.29 reads PKCS#12 itself and signs with PS256 and a SHA-256 thumbprint.
        return {"private_key_pfx_path": str(path), "passphrase": password, "public_certificate": True}
    pem = path.read_text()
    begin_certificate = pem.find("-----BEGIN CERTIFICATE-----")
    if begin_certificate < 0:
        raise TokenRefused(f"{path} holds no certificate; it needs the private key and the certificate.")
    end_marker = "-----END CERTIFICATE-----"
    certificate = pem[begin_certificate : pem.index(end_marker, begin_certificate) + len(end_marker)]
    credential: dict[str, Any] = {"private_key": pem, "public_certificate": certificate}
    if password:
        credential["passphrase"] = password
    return credential
