"""A fake App Service / Azure Functions managed identity endpoint.

Protocol (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference;
msal/managed_identity.py ``_obtain_token_on_app_service``):
``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=|&mi_res_id=|&object_id=]``
with header ``X-IDENTITY-HEADER: {IDENTITY_HEADER}``; the answer carries ``access_token`` and
``expires_on`` (epoch seconds), both of which MSAL requires.
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import FakeHttpServer, HttpAnswer, HttpRequest

API_VERSION = "2019-08-01"
TOKEN_PATH = "/msi/token"


def identity_error(status: int, message: str) -> dict[str, Any]:
    """The App Service identity endpoint's error body; MSAL reports ``"<statusCode>, <message>"``."""
    return {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}


class FakeManagedIdentity(FakeHttpServer):
    """Fake managed identity endpoint. ``with FakeManagedIdentity() as identity:``, then set
    ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` from ``identity.environment``.

    Issues a fresh token per request (``mi-token-1``, ``mi-token-2``, ...). ``on_issue`` is called
    with each token before the answer leaves, e.g. ``identity.on_issue = graph.valid_tokens.add``.
    """

    def __init__(self, *, expires_in_s: int = 3600) -> None:
        super().__init__()
        self.identity_header = secrets.token_urlsafe(24)
        self.expires_in_s = expires_in_s
        self.client_id = str(uuid.uuid4())  # of the system-assigned identity
        self.on_issue: Callable[[str], None] | None = None
        self._token_requests: list[HttpRequest] = []
        self._issued_tokens: list[str] = []
        self._token_numbers = itertools.count(1)

    @property
    def endpoint(self) -> str:
        """The full URL to put into ``IDENTITY_ENDPOINT``."""
        return f"{self.base_url}{TOKEN_PATH}"

    @property
    def environment(self) -> dict[str, str]:
        """What the Functions host sets for an app with a managed identity."""
        return {"IDENTITY_ENDPOINT": self.endpoint, "IDENTITY_HEADER": self.identity_header}

    @property
    def token_requests(self) -> list[HttpRequest]:
        """Every request received (``.query`` and ``.headers`` hold what MSAL sent), a copy."""
        with self._lock:
            return list(self._token_requests)

    @property
    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._issued_tokens)

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        with self._lock:
            self._token_requests.append(request)

        def error(status: int, message: str) -> HttpAnswer:
            return HttpAnswer.with_json(status, identity_error(status, message))

        if request.method != "GET" or request.path != TOKEN_PATH:
            return error(404, f"FakeManagedIdentity serves GET {TOKEN_PATH} only")
        if request.headers.get("x-identity-header") != self.identity_header:
            return error(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.")
        if request.query.get("api-version") != API_VERSION:
            return error(400, f"api-version must be {API_VERSION}.")
        resource = request.query.get("resource")
        if not resource:
            return error(400, "The resource parameter is required.")

        scripted = self._next_scripted()
        if scripted is not None:
            return scripted.as_answer()
        token = self._issue()
        return HttpAnswer.with_json(
            200,
            {
                "access_token": token,
                "expires_on": str(int(time.time()) + self.expires_in_s),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": request.query.get("client_id", self.client_id),
            },
        )

    def _issue(self) -> str:
        with self._lock:
            token = f"mi-token-{next(self._token_numbers)}"
            self._issued_tokens.append(token)
        if self.on_issue is not None:
            self.on_issue(token)
        return token
