"""Entra ID bearer tokens on /api/hooks/azure-monitor: what an action group's "Secure webhook" sends.

What the token is (learn.microsoft.com/azure/azure-monitor/alerts/action-groups, "Configure
authentication for Secure webhook"; learn.microsoft.com/entra/identity-platform/access-token-claims-reference):
- An app-only access token that the "AzNS AAD Webhook" service principal (app id
  ``461e8683-5575-4561-ac7f-899cc907d62a``) gets for *our* app registration. The registration defines
  the app role ``ActionGroupsSecureWebhook`` and assigns it to that service principal, so the token's
  ``roles`` claim carries it. A tenant admin made that assignment; the role is the authorization.
- Azure Monitor asks for v2.0 access tokens (``accessTokenAcceptedVersion: 2``): ``aud`` is then the
  app's client id and ``iss`` is ``{authority}/{tenant}/v2.0``. A registration left on v1.0 gets
  ``iss`` ``https://sts.windows.net/{tenant}/`` and ``aud`` the Application ID URI (or client id).
  Both are accepted, for this tenant only; configure every ``aud`` form you expect.

How keys are kept (learn.microsoft.com/entra/identity-platform/signing-key-rollover): the
tenant-specific ``{authority}/{tenant}/discovery/v2.0/keys`` is fetched on first use, refreshed
hourly on the next request, refetched for an unknown ``kid`` at most once per 5 minutes (so forged
kids cannot make us hammer Entra), and the last good keys are kept for 24 h when a refresh fails.

Why not ``jwt.PyJWKClient``: it fetches with urllib (not our pooled, CA-configured
``requests.Session``), reads its own monotonic clock, and cannot tell "Entra is down" (our 503,
which action groups retry: they retry 408/429/503/504) from "bad token" (401, not retried).
"""

from __future__ import annotations

import enum
import math
import numbers
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jwt
import requests

from shared.logs import get_logger
from shared.problems import Problem

log = get_logger(__name__)

# The app role the action-groups doc's PowerShell script defines and assigns to the AzNS AAD Webhook principal.
ACTION_GROUPS_ROLE = "ActionGroupsSecureWebhook"

# RS256 only: Entra signs access tokens with RSA keys. "none", HS256 (a public key used as an HMAC
# secret: algorithm confusion) and anything else are refused before a key is looked up.
ALGORITHM = "RS256"

# Entra access tokens are a few KB; refuse a huge header before base64-decoding it.
MAX_TOKEN_CHARS = 16 * 1024

# signing-key-rollover: "no more frequently than 5 mins" on an unknown kid; refresh every hour;
# a key lives 24 h in the cache. A failed fetch is retried after FETCH_RETRY_S, never per request.
UNKNOWN_KEY_REFETCH_S = 300.0
KEYS_REFRESH_S = 3600.0
KEYS_MAX_AGE_S = 24 * 3600.0
FETCH_RETRY_S = 10.0
FETCH_TIMEOUT_S = 5.0
LEEWAY_S = 60.0

# v1.0 and v2.0 issuers per Entra authority host, "{tenant}" filled in with the tenant GUID.
# Global: access-token-claims-reference. US Gov and China v2.0: the issuer MSAL.js ships in
# msal-common src/authority/AuthorityMetadata.ts. China v1.0: MicrosoftDocs/azure-docs#123050.
# US Gov v1.0: sts.windows.net, as in microsoft/BotFramework-Emulator's gov token tests.
_GLOBAL_ISSUERS = ("https://sts.windows.net/{tenant}/", "https://login.microsoftonline.com/{tenant}/v2.0")
_CHINA_ISSUERS = ("https://sts.chinacloudapi.cn/{tenant}/", "https://login.partner.microsoftonline.cn/{tenant}/v2.0")
CLOUD_ISSUERS: dict[str, tuple[str, ...]] = {
    "login.microsoftonline.com": _GLOBAL_ISSUERS,
    "login.microsoftonline.us": ("https://sts.windows.net/{tenant}/", "https://login.microsoftonline.us/{tenant}/v2.0"),
    "login.chinacloudapi.cn": _CHINA_ISSUERS,
    "login.partner.microsoftonline.cn": _CHINA_ISSUERS,
}


class Rejection(enum.StrEnum):
    """Why a token was refused; each has one fixed description (never the token or its claims)."""

    MISSING = "missing"
    MALFORMED = "malformed"
    ALGORITHM = "algorithm_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_TENANT = "wrong_tenant"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    MISSING_ROLE = "missing_role"


_DESCRIPTIONS: dict[Rejection, str] = {
    Rejection.MISSING: "No bearer token: send the Entra ID token of an Azure Monitor secure webhook.",
    Rejection.MALFORMED: "The Authorization header is not 'Bearer <JWT>' with the claims an Entra ID access token has.",
    Rejection.ALGORITHM: f"The token is not signed with {ALGORITHM}, the only algorithm accepted.",
    Rejection.UNKNOWN_KEY: "The token is signed with a key that Entra ID does not publish for this tenant.",
    Rejection.BAD_SIGNATURE: "The token's signature does not verify with the tenant's Entra ID signing key.",
    Rejection.EXPIRED: "The token has expired.",
    Rejection.NOT_YET_VALID: "The token is not valid yet (nbf is in the future).",
    Rejection.WRONG_TENANT: "The token was issued for another Entra ID tenant.",
    Rejection.WRONG_ISSUER: "The token's issuer is not this tenant's Entra ID (v1.0 or v2.0).",
    Rejection.WRONG_AUDIENCE: "The token is for another application (aud is not AZURE_MONITOR_WEBHOOK_AUDIENCE).",
    Rejection.MISSING_ROLE: (
        f"The token lacks the app role '{ACTION_GROUPS_ROLE}' (assign it to the AzNS AAD Webhook principal)."
    ),
}


class EntraTokenRejected(Problem):
    status = 401
    code = "token_invalid"
    title = "The Entra ID bearer token is missing or invalid"

    reason: Rejection

    def __init__(self, reason: Rejection) -> None:
        description = _DESCRIPTIONS[reason]
        # RFC 6750 section 3: no error code when the request had no token at all.
        challenge = 'Bearer realm="mailhook"'
        if reason is not Rejection.MISSING:
            challenge += f', error="invalid_token", error_description="{_quotable(description)}"'
        super().__init__(description, headers={"WWW-Authenticate": challenge})
        self.reason = reason


class SigningKeysUnavailable(Problem):
    """Entra's keys could not be fetched: not the caller's fault, so 503 (action groups retry it)."""

    status = 503
    code = "signing_keys_unavailable"
    title = "Entra ID signing keys are unavailable"


def tenant_guid(tenant_id: str) -> str:
    """The tenant as tokens name it (``tid``, ``iss``): a lower-case GUID. A domain name is refused."""
    try:
        return str(uuid.UUID(tenant_id.strip()))
    except ValueError:
        raise ValueError("the tenant must be the directory (tenant) GUID, not a domain name") from None


def entra_issuers(authority_host: str, tenant_id: str) -> frozenset[str]:
    """The v1.0 and v2.0 ``iss`` values Entra puts in tokens of ``tenant_id`` in that cloud.

    A host we do not know (a test double, a proxy) is assumed to issue ``{host}/{tenant}/v2.0``
    and ``{host}/{tenant}/``.
    """
    tenant = tenant_guid(tenant_id)
    host = authority_host.rstrip("/")
    templates = CLOUD_ISSUERS.get(urlsplit(host).hostname or "", (host + "/{tenant}/", host + "/{tenant}/v2.0"))
    return frozenset(template.format(tenant=tenant) for template in templates)


class EntraWebhookVerifier:
    """Checks the Entra ID bearer token of an Azure Monitor secure webhook. Build one per process.

    ``verify`` raises ``EntraTokenRejected`` (401) or ``SigningKeysUnavailable`` (503); it is
    thread-safe, and at most one thread fetches keys at a time while the others wait for the result.
    ``clock`` and ``fetch_timeout_s`` are there for tests (a clock they advance, a short timeout).
    """

    _ALLOWED_USES: ClassVar[tuple[object, ...]] = (None, "sig")

    def __init__(
        self,
        *,
        audience: str | Iterable[str],
        tenant_id: str,
        authority_host: str,
        session: requests.Session,
        clock: Callable[[], float] = time.time,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not audiences or not all(a.strip() for a in audiences):
            raise ValueError("at least one non-empty audience is required")
        self.audiences = audiences
        self.tenant_id = tenant_guid(tenant_id)
        self.issuers = entra_issuers(authority_host, self.tenant_id)
        self.keys_url = f"{authority_host.rstrip('/')}/{self.tenant_id}/discovery/v2.0/keys"
        self._session = session
        self._clock = clock
        self._fetch_timeout_s = fetch_timeout_s

        self._lock = threading.Lock()  # guards the key cache; held across a fetch (single flight)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched_at: float | None = None  # clock() of the last successful fetch
        self._no_fetch_before = -math.inf  # clock() before which no fetch may start
        self._last_fetch_failed = False

    # -- the check ---------------------------------------------------------------------------

    def verify(self, authorization_header: str | None) -> None:
        """Return if the header holds a valid token for this app, tenant and role; raise otherwise."""
        token = _bearer_token(authorization_header)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise EntraTokenRejected(Rejection.MALFORMED) from None
        if header.get("alg") != ALGORITHM:
            raise EntraTokenRejected(Rejection.ALGORITHM)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise EntraTokenRejected(Rejection.MALFORMED)
        key = self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                # Only the signature here: time claims are checked below against our own clock,
                # and the rest against this tenant, each with its own description.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise EntraTokenRejected(Rejection.BAD_SIGNATURE) from None
        except jwt.PyJWTError:
            raise EntraTokenRejected(Rejection.MALFORMED) from None
        self._check_claims(claims)

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        expires_at, not_before = _time_claim(claims.get("exp")), _time_claim(claims.get("nbf", 0))
        if expires_at is None or not_before is None:
            raise EntraTokenRejected(Rejection.MALFORMED)
        if now - LEEWAY_S >= expires_at:
            raise EntraTokenRejected(Rejection.EXPIRED)
        if not_before > now + LEEWAY_S:
            raise EntraTokenRejected(Rejection.NOT_YET_VALID)
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or tenant.lower() != self.tenant_id:
            raise EntraTokenRejected(Rejection.WRONG_TENANT)
        # Entra puts one string in iss and aud (RFC 7519 would allow an aud list; Entra never sends one).
        if not _is_one_of(claims.get("iss"), self.issuers):
            raise EntraTokenRejected(Rejection.WRONG_ISSUER)
        if not _is_one_of(claims.get("aud"), self.audiences):
            raise EntraTokenRejected(Rejection.WRONG_AUDIENCE)
        roles = claims.get("roles")
        if not isinstance(roles, list) or ACTION_GROUPS_ROLE not in roles:
            raise EntraTokenRejected(Rejection.MISSING_ROLE)

    # -- signing keys ------------------------------------------------------------------------

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            key = self._keys.get(kid)
            if self._fetch_due(now, kid_known=key is not None):
                self._refresh_keys(now)
                key = self._keys.get(kid)
            have_keys = self._keys_fetched_at is not None and now - self._keys_fetched_at < KEYS_MAX_AGE_S
            # An unknown kid while Entra is unreachable may be a genuine new key: 503, retried later.
            if not have_keys or (key is None and self._last_fetch_failed):
                retry_after_s = max(1, math.ceil(self._no_fetch_before - now))
                raise SigningKeysUnavailable(
                    "Entra ID's signing keys could not be fetched, so the token cannot be checked; retry later.",
                    headers={"Retry-After": str(retry_after_s)},
                )
        if key is None:
            log.debug("token signed with a key id the tenant does not publish")
            raise EntraTokenRejected(Rejection.UNKNOWN_KEY)
        return key

    def _fetch_due(self, now: float, *, kid_known: bool) -> bool:
        if now < self._no_fetch_before:
            return False
        if self._keys_fetched_at is None or now - self._keys_fetched_at >= KEYS_REFRESH_S:
            return True
        return not kid_known

    def _refresh_keys(self, now: float) -> None:
        try:
            keys = self._fetch_keys()
        except _KeysFetchFailed as exc:
            self._last_fetch_failed = True
            self._no_fetch_before = now + FETCH_RETRY_S
            log.warning("could not fetch Entra ID signing keys from %s: %s", self.keys_url, exc)
            return
        self._keys = keys  # replaced, not merged: a key Entra withdrew stops verifying at once
        self._keys_fetched_at = now
        self._last_fetch_failed = False
        self._no_fetch_before = now + UNKNOWN_KEY_REFETCH_S
        log.info("fetched %d Entra ID signing key(s) from %s", len(keys), self.keys_url)

    def _fetch_keys(self) -> dict[str, jwt.PyJWK]:
        try:
            response = self._session.get(
                self.keys_url, headers={"Accept": "application/json"}, timeout=self._fetch_timeout_s
            )
        except requests.RequestException as exc:
            raise _KeysFetchFailed(type(exc).__name__) from None
        if response.status_code != 200:
            raise _KeysFetchFailed(f"HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise _KeysFetchFailed("the answer is not JSON") from None
        published = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in published if isinstance(published, list) else []:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use") not in self._ALLOWED_USES:
                continue
            kid = jwk.get("kid")
            if not isinstance(kid, str) or not kid or jwk.get("alg") not in (None, ALGORITHM):
                continue
            try:
                keys[kid] = jwt.PyJWK(jwk, algorithm=ALGORITHM)
            except jwt.PyJWTError:
                continue  # one unusable key must not hide the others
        if not keys:
            raise _KeysFetchFailed("no usable RSA signing key in the answer")
        return keys


class _KeysFetchFailed(Exception):
    pass


def _bearer_token(authorization_header: str | None) -> str:
    if authorization_header is None or not authorization_header.strip():
        raise EntraTokenRejected(Rejection.MISSING)
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise EntraTokenRejected(Rejection.MALFORMED)
    return token


def _is_one_of(value: object, accepted: frozenset[str]) -> bool:
    return isinstance(value, str) and value in accepted


def _time_claim(value: object) -> float | None:
    """A NumericDate claim as seconds, or None when it is not a finite number."""
    # bool is an int subclass; NaN and infinities would defeat the comparisons.
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return None
    return float(value)


def _quotable(text: str) -> str:
    """RFC 6750 error_description: printable ASCII without double quote or backslash."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')
