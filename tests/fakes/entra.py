"""A fake Entra ID: OIDC discovery and the client-credentials token endpoint, over HTTPS.

What MSAL's ``ConfidentialClientApplication`` needs (msal/authority.py and msal/application.py in
AzureAD/microsoft-authentication-library-for-python): the
constructor GETs ``{authority}/v2.0/.well-known/openid-configuration``; a cache miss POSTs the
form ``grant_type=client_credentials, client_id, scope, client_info=1`` plus ``client_secret`` or
``client_assertion_type`` + ``client_assertion`` to the discovered ``token_endpoint``.
HTTPS because MSAL rejects ``http://`` authorities. Trust ``ca_bundle`` through the
``REQUESTS_CA_BUNDLE`` variable: when it is set (CI images set it), requests lets it override a
Session's ``verify`` (psf/requests#3829), so ``session.verify = ca_bundle`` alone is not enough.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import itertools
import re
import ssl
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from . import FakeHttpServer, HttpAnswer, HttpRequest
from .tls import make_server_certificate

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What MSAL signs with: RS256 + SHA-1 "x5t" for a "thumbprint" credential, PS256 + "x5t#S256"
# when it computes the thumbprint from "public_certificate" (msal/application.py, 1.35.0+).
_ASSERTION_ALGORITHMS = ["RS256", "PS256"]

_DISCOVERY_PATH = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
_TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")


def entra_error(error: str, aadsts_code: int, description: str, *, correlation_id: str | None = None) -> dict[str, Any]:
    """Entra's OAuth error body, e.g. ``entra_error("invalid_client", 7000215, "Invalid client secret provided.")``."""
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    timestamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{aadsts_code}: {description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
        ),
        "error_codes": [aadsts_code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={aadsts_code}",
    }


@dataclass
class _Client:
    secrets: set[str] = field(default_factory=set)
    certificates: list[x509.Certificate] = field(default_factory=list)


class _Refusal(NamedTuple):
    status: int
    error: str
    aadsts_code: int
    description: str


class FakeLoginHost(FakeHttpServer):
    """An HTTPS fake of Entra's login host: the TLS files, and where to find it."""

    def __init__(self, *, cert_dir: Path | None = None, name: str = "fake-entra") -> None:
        # A temporary directory for the TLS files unless the caller owns one (e.g. tmp_path).
        self._own_cert_dir: tempfile.TemporaryDirectory[str] | None = None
        if cert_dir is None:
            self._own_cert_dir = tempfile.TemporaryDirectory(prefix=f"{name}-")
            cert_dir = Path(self._own_cert_dir.name)
        self.tls_files = make_server_certificate(cert_dir)
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(self.tls_files.server_cert_pem, self.tls_files.server_key_pem)
        super().__init__(ssl_context=ssl_context)

    def stop(self) -> None:
        super().stop()
        if self._own_cert_dir is not None:
            self._own_cert_dir.cleanup()

    @property
    def authority_host(self) -> str:
        return self.base_url

    @property
    def ca_bundle(self) -> str:
        """PEM of the CA that signed the server certificate: ``verify=`` / ``REQUESTS_CA_BUNDLE``."""
        return str(self.tls_files.ca_pem)


class FakeEntra(FakeLoginHost):
    """Fake Entra ID. ``with FakeEntra() as entra:``, ``entra.register_client(tenant, client_id, secret=...)``,
    then ``msal.ConfidentialClientApplication(..., authority=entra.authority(tenant),
    instance_discovery=False, http_client=<session verifying entra.ca_bundle>)``.

    Scripted answers (``enqueue``) go to token requests only; discovery always answers.
    """

    def __init__(self, *, cert_dir: Path | None = None, expires_in_s: int = 3599) -> None:
        super().__init__(cert_dir=cert_dir, name="fake-entra")
        self.expires_in_s = expires_in_s
        self.on_issue: Callable[[str], None] | None = None
        self._clients: dict[tuple[str, str], _Client] = {}
        self._token_requests: list[HttpRequest] = []
        self._discovery_requests: list[HttpRequest] = []
        self._issued_tokens: list[str] = []
        self._token_numbers = itertools.count(1)

    def authority(self, tenant: str) -> str:
        return f"{self.authority_host}/{tenant}"

    def token_endpoint(self, tenant: str) -> str:
        return f"{self.authority_host}/{tenant}/oauth2/v2.0/token"

    def register_client(
        self,
        tenant: str,
        client_id: str,
        *,
        secret: str | None = None,
        certificate: x509.Certificate | None = None,
    ) -> None:
        """Add an app registration, or another secret/certificate to one (both stay valid)."""
        with self._lock:
            client = self._clients.setdefault((tenant, client_id), _Client())
            if secret is not None:
                client.secrets.add(secret)
            if certificate is not None:
                client.certificates.append(certificate)

    @property
    def token_requests(self) -> list[HttpRequest]:
        """Token POSTs received (``.form`` holds the fields, secrets included), a copy."""
        with self._lock:
            return list(self._token_requests)

    @property
    def discovery_requests(self) -> list[HttpRequest]:
        with self._lock:
            return list(self._discovery_requests)

    @property
    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._issued_tokens)

    # -- serving -----------------------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        discovery = _DISCOVERY_PATH.match(request.path)
        if discovery and request.method == "GET":
            return self._discover(request, discovery["tenant"])
        token = _TOKEN_PATH.match(request.path)
        if token and request.method == "POST":
            return self._token(request, token["tenant"])
        return HttpAnswer.with_json(
            404,
            entra_error(
                "invalid_request",
                900561,
                f"FakeEntra serves OIDC discovery and the token endpoint, not {request.method} {request.path}.",
            ),
        )

    def _discover(self, request: HttpRequest, tenant: str) -> HttpAnswer:
        with self._lock:
            self._discovery_requests.append(request)
            tenant_known = any(known == tenant for known, _ in self._clients)
        if not tenant_known:
            return HttpAnswer.with_json(400, entra_error("invalid_tenant", 90002, f"Tenant '{tenant}' not found."))
        authority = self.authority(tenant)
        return HttpAnswer.with_json(
            200,
            {
                "token_endpoint": self.token_endpoint(tenant),
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{self.authority_host}/{tenant}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{authority}/v2.0",
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{authority}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{authority}/oauth2/v2.0/logout",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "msgraph_host": "graph.microsoft.com",
            },
        )

    def _token(self, request: HttpRequest, tenant: str) -> HttpAnswer:
        with self._lock:
            self._token_requests.append(request)
        correlation_id = request.headers.get("client-request-id", str(uuid.uuid4()))
        headers = {"client-request-id": correlation_id, "x-ms-request-id": str(uuid.uuid4())}

        refusal = self._refusal(request.form, tenant)
        if refusal is not None:
            body = entra_error(
                refusal.error,
                refusal.aadsts_code,
                refusal.description,
                correlation_id=correlation_id,
            )
            return HttpAnswer.with_json(refusal.status, body, headers)

        scripted = self._next_scripted()
        if scripted is not None:
            return scripted.as_answer(headers)
        return HttpAnswer.with_json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.expires_in_s,
                "ext_expires_in": self.expires_in_s,
                "access_token": self._issue(),
            },
            headers,
        )

    def _refusal(self, form: dict[str, str], tenant: str) -> _Refusal | None:
        """Why Entra would refuse this token request, or None to issue a token."""
        client_id = form.get("client_id", "")
        with self._lock:
            tenant_known = any(known == tenant for known, _ in self._clients)
            client = self._clients.get((tenant, client_id))
        if not tenant_known:
            return _Refusal(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _Refusal(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type')}'.",
            )
        if client is None:
            return _Refusal(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        scopes = form.get("scope", "").split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return _Refusal(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier.",
            )
        if "client_secret" in form:
            if not any(hmac.compare_digest(form["client_secret"], s) for s in client.secrets):
                return _Refusal(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is "
                    f"the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
                )
            return None
        if "client_assertion" in form:
            return self._assertion_refusal(form, client_id, client, self.token_endpoint(tenant))
        return _Refusal(
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        )

    def _assertion_refusal(
        self, form: dict[str, str], client_id: str, client: _Client, token_endpoint: str
    ) -> _Refusal | None:
        def refuse(aadsts_code: int, description: str) -> _Refusal:
            return _Refusal(401, "invalid_client", aadsts_code, description)

        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            return _Refusal(
                400,
                "invalid_request",
                50027,
                f"client_assertion_type must be '{CLIENT_ASSERTION_TYPE}'.",
            )
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError as exc:
            return refuse(50027, f"JWT token is invalid or malformed. [{exc}]")
        certificate = _certificate_named_by(header, client.certificates)
        if certificate is None:
            return refuse(
                700027,
                "Client assertion contains an invalid signature. [Reason - The key was not found., "
                f"Thumbprint of key used by client: '{header.get('x5t#S256') or header.get('x5t')}', "
                f"Please visit the Azure Portal to see configured keys for app Id '{client_id}'.]",
            )
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            return refuse(700027, "Client assertion must be signed with an RSA key.")
        try:
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=_ASSERTION_ALGORITHMS,
                audience=token_endpoint,
                issuer=client_id,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            return refuse(700024, "Client assertion is not within its valid time range.")
        except jwt.InvalidTokenError as exc:
            return refuse(700027, f"Client assertion failed validation. [Reason - {exc}]")
        if claims["sub"] != client_id:
            return refuse(700023, f"Client assertion subject '{claims['sub']}' is not '{client_id}'.")
        return None

    def _issue(self) -> str:
        with self._lock:
            token = f"entra-token-{next(self._token_numbers)}"
            self._issued_tokens.append(token)
        if self.on_issue is not None:
            self.on_issue(token)
        return token


def _certificate_named_by(header: dict[str, Any], certificates: list[x509.Certificate]) -> x509.Certificate | None:
    """The registered certificate whose thumbprint the assertion's ``x5t#S256``/``x5t`` names."""
    for certificate in certificates:
        named = {
            "x5t#S256": certificate.fingerprint(hashes.SHA256()),
            "x5t": certificate.fingerprint(hashes.SHA1()),  # noqa: S303 - x5t is SHA-1 by definition (RFC 7515 4.1.7)
        }
        for header_name, fingerprint in named.items():
            value = header.get(header_name)
            if isinstance(value, str) and _b64url_decode(value) == fingerprint:
                return certificate
    return None


def _b64url_decode(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None
