"""A fake Entra ID signing-key endpoint, ``GET /{tenant}/discovery/v2.0/keys`` over HTTPS, and the tokens it signs.

What Entra serves there (learn.microsoft.com/entra/identity-platform/signing-key-rollover; a live
answer is quoted in AzureAD/microsoft-authentication-library-for-js#560): ``{"keys": [...]}``, each
key ``{"kty": "RSA", "use": "sig", "kid", "x5t", "n", "e", "x5c", "issuer"}``, always more than
one, in no meaningful order; keys roll over without notice. An unknown tenant gets 400 AADSTS90002.

The fake holds the private keys, so tests mint the tokens Entra would: ``keys.sign(claims)``, or
``keys.sign(action_group_claims(...))`` for what an Azure Monitor secure webhook sends. Trust
``ca_bundle`` through ``REQUESTS_CA_BUNDLE`` (see tests/fakes/entra.py for why not ``verify=``).
Scripted answers (``enqueue``) go to key requests for the known tenant.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from . import HttpAnswer, HttpRequest
from .entra import FakeLoginHost, entra_error

# Azure Monitor's "AzNS AAD Webhook" app id (learn.microsoft.com/azure/azure-monitor/alerts/action-groups).
ACTION_GROUPS_APP_ID = "461e8683-5575-4561-ac7f-899cc907d62a"

_KEY_BITS = 2048
_key_pool_lock = threading.Lock()
_key_pool: list[rsa.RSAPrivateKey] = []


def _pooled_rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The index-th RSA key of this test process: 2048-bit keys take ~80 ms each, so they are shared."""
    with _key_pool_lock:
        while len(_key_pool) <= index:
            _key_pool.append(rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS))
        return _key_pool[index]


@dataclass(frozen=True)
class SigningKey:
    """One of the fake tenant's signing keys; ``kid`` looks like Entra's (base64url thumbprint)."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self, issuer: str) -> dict[str, Any]:
        published = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, **published, "issuer": issuer}


@functools.cache
def _signing_key(index: int) -> SigningKey:
    private_key = _pooled_rsa_key(index)
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324 - as x5t is
    return SigningKey(kid=kid, private_key=private_key)


class FakeEntraKeys(FakeLoginHost):
    """Fake Entra signing keys for one tenant. ``with FakeEntraKeys(tenant) as keys:``, then point the
    verifier at ``keys.authority_host``; ``keys.rotate()`` publishes a new key that signs from then on.
    """

    def __init__(self, tenant: str, *, cert_dir: Path | None = None, key_count: int = 2) -> None:
        super().__init__(cert_dir=cert_dir, name="fake-entra-keys")
        self.tenant = tenant
        self._next_key_index = 0
        self._published: list[SigningKey] = []
        self._signing: SigningKey | None = None
        self._key_requests: list[HttpRequest] = []
        # Entra always publishes several keys; the newest signs.
        for _ in range(key_count):
            self.rotate()

    # -- where it is -------------------------------------------------------------------------

    @property
    def keys_path(self) -> str:
        return f"/{self.tenant}/discovery/v2.0/keys"

    @property
    def v2_issuer(self) -> str:
        return f"{self.authority_host}/{self.tenant}/v2.0"

    @property
    def v1_issuer(self) -> str:
        """What a verifier assumes for a host it does not know; the real v1.0 issuer is sts.windows.net."""
        return f"{self.authority_host}/{self.tenant}/"

    # -- keys --------------------------------------------------------------------------------

    def new_key(self, *, publish: bool = True) -> SigningKey:
        """A key of this tenant, published (Entra would verify with it) or not (a forger's key)."""
        with self._lock:
            key = _signing_key(self._next_key_index)
            self._next_key_index += 1
            if publish:
                self._published.append(key)
        return key

    def rotate(self, *, retire_others: bool = False) -> SigningKey:
        """Publish a new key and sign with it from now on; ``retire_others`` withdraws the rest."""
        key = self.new_key()
        with self._lock:
            if retire_others:
                self._published = [key]
            self._signing = key
        return key

    def withdraw(self, key: SigningKey) -> None:
        with self._lock:
            self._published = [k for k in self._published if k.kid != key.kid]

    @property
    def signing_key(self) -> SigningKey:
        with self._lock:
            assert self._signing is not None
            return self._signing

    @property
    def published_keys(self) -> list[SigningKey]:
        with self._lock:
            return list(self._published)

    def sign(
        self, claims: dict[str, Any], *, key: SigningKey | None = None, headers: dict[str, Any] | None = None
    ) -> str:
        """An RS256 JWT of ``claims``, signed by ``key`` (default: the current signing key)."""
        key = key or self.signing_key
        return jwt.encode(
            claims, key.private_key, algorithm="RS256", headers={"typ": "JWT", "kid": key.kid, **(headers or {})}
        )

    # -- what it received --------------------------------------------------------------------

    @property
    def key_requests(self) -> list[HttpRequest]:
        with self._lock:
            return list(self._key_requests)

    @property
    def key_request_count(self) -> int:
        with self._lock:
            return len(self._key_requests)

    # -- serving -----------------------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        parts = request.path.split("/")  # "", tenant, "discovery", "v2.0", "keys"
        if request.method != "GET" or len(parts) != 5 or parts[2:] != ["discovery", "v2.0", "keys"]:
            return HttpAnswer.with_json(
                404,
                entra_error("invalid_request", 900561, f"FakeEntraKeys serves only GET {self.keys_path}."),
            )
        if parts[1] != self.tenant:
            return HttpAnswer.with_json(400, entra_error("invalid_tenant", 90002, f"Tenant '{parts[1]}' not found."))
        with self._lock:
            self._key_requests.append(request)
            published = list(self._published)
        scripted = self._next_scripted()
        if scripted is not None:
            return scripted.as_answer()
        return HttpAnswer.with_json(200, {"keys": [key.jwk(self.v2_issuer) for key in published]})


def action_group_claims(
    *,
    tenant: str,
    audience: str,
    issuer: str,
    version: Literal["1.0", "2.0"] = "2.0",
    roles: list[str] | None = None,
    caller_app_id: str = ACTION_GROUPS_APP_ID,
    issued_at: float | None = None,
    lifetime_s: int = 3599,
) -> dict[str, Any]:
    """The claims of the app-only token an action group's secure webhook sends, v1.0 or v2.0 shape.

    Claim names per learn.microsoft.com/entra/identity-platform/access-token-claims-reference:
    the client is ``azp``/``azpacr`` in v2.0 and ``appid``/``appidacr`` in v1.0; ``roles`` holds
    the app roles assigned to the caller (``ActionGroupsSecureWebhook`` for Azure Monitor).
    """
    now = int(time.time() if issued_at is None else issued_at)
    principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{caller_app_id}"))
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        "aio": "E2ZgYJg" + uuid.uuid4().hex[:20],
        "idp": issuer,
        "oid": principal,
        "rh": "0.AAAA" + uuid.uuid4().hex[:16],
        "roles": ["ActionGroupsSecureWebhook"] if roles is None else roles,
        "sub": principal,
        "tid": tenant,
        "uti": uuid.uuid4().hex[:22],
        "ver": version,
    }
    if version == "2.0":
        claims.update(azp=caller_app_id, azpacr="2")
    else:
        claims.update(appid=caller_app_id, appidacr="2")
    return claims
