"""The fakes behave like the services they stand for, as seen by real MSAL and real HTTP clients."""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import msal
import pytest
import requests

from tests.fakes.entra import FakeEntra, entra_error
from tests.fakes.graph import MAX_REQUEST_BYTES, FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity, identity_error
from tests.fakes.tls import ClientCertificate, make_client_certificate

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_SCOPES = [f"{GRAPH_RESOURCE}/.default"]
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "66666666-7777-8888-9999-000000000000"
SECRET = "test-client-secret"
MAILBOX = "alerts@contoso.example"


def send_mail_url(graph: FakeGraph, mailbox: str = MAILBOX) -> str:
    return f"{graph.base_url}/v1.0/users/{urllib.parse.quote(mailbox, safe='')}/sendMail"


# The fakes come from the shared fixtures in tests/conftest.py: `graph`, `identity` (its tokens
# are the ones `graph` accepts) and `entra` (its CA trusted through REQUESTS_CA_BUNDLE).

# -- managed identity ------------------------------------------------------------------------


def managed_identity_client(identity_kind: Any) -> Any:
    # A fresh client per test: the token cache and MSAL's error throttle live in it.
    return msal.ManagedIdentityClient(identity_kind, http_client=requests.Session())


def test_managed_identity_issues_a_token_then_msal_serves_it_from_cache(identity: FakeManagedIdentity) -> None:
    client = managed_identity_client(msal.SystemAssignedManagedIdentity())

    first = client.acquire_token_for_client(resource=GRAPH_RESOURCE)
    second = client.acquire_token_for_client(resource=GRAPH_RESOURCE)

    assert first["access_token"] == "mi-token-1"
    assert first["token_source"] == "identity_provider"
    assert 3590 <= first["expires_in"] <= 3600
    assert second["access_token"] == "mi-token-1"
    assert second["token_source"] == "cache"
    [request] = identity.token_requests
    assert request.method == "GET"
    assert request.query == {"api-version": "2019-08-01", "resource": GRAPH_RESOURCE}
    assert request.headers["x-identity-header"] == identity.identity_header
    assert request.headers["metadata"] == "true"
    assert identity.issued_tokens == ["mi-token-1"]


def test_user_assigned_identity_sends_its_client_id(identity: FakeManagedIdentity) -> None:
    client = managed_identity_client(msal.UserAssignedManagedIdentity(client_id="uami-client-id"))

    result = client.acquire_token_for_client(resource=GRAPH_RESOURCE)

    assert result["access_token"] == "mi-token-1"
    [request] = identity.token_requests
    assert request.query["client_id"] == "uami-client-id"


def test_managed_identity_refuses_a_wrong_identity_header(
    identity: FakeManagedIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-secret")
    client = managed_identity_client(msal.SystemAssignedManagedIdentity())

    result = client.acquire_token_for_client(resource=GRAPH_RESOURCE)

    # MSAL folds every App Service failure into "invalid_scope" with "<statusCode>, <message>".
    assert result["error"] == "invalid_scope"
    assert result["error_description"].startswith("401, ")
    assert identity.issued_tokens == []


def test_managed_identity_scripted_failure_reaches_msal(identity: FakeManagedIdentity) -> None:
    identity.enqueue(503, json=identity_error(503, "Service busy"))
    client = managed_identity_client(msal.SystemAssignedManagedIdentity())

    result = client.acquire_token_for_client(resource=GRAPH_RESOURCE)

    assert result == {"error": "invalid_scope", "error_description": "503, Service busy"}
    assert identity.pending_scripted == 0


# -- Entra ID --------------------------------------------------------------------------------


@pytest.fixture
def confidential_client(entra: FakeEntra) -> Callable[..., Any]:
    """Register our app with the fake Entra, and build a fresh MSAL app (own cache) per call."""
    entra.register_client(TENANT, CLIENT_ID, secret=SECRET)

    def build(credential: Any, *, tenant: str = TENANT) -> Any:
        return msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=credential,
            authority=entra.authority(tenant),
            instance_discovery=False,  # else MSAL asks login.microsoftonline.com about our host
            # Trusts entra.ca_bundle through REQUESTS_CA_BUNDLE. Setting session.verify would not
            # do: requests lets that variable override it (psf/requests#3829).
            http_client=requests.Session(),
        )

    return build


def test_client_secret_gets_a_token_then_msal_serves_it_from_cache(
    entra: FakeEntra, confidential_client: Callable[..., Any]
) -> None:
    app = confidential_client(SECRET)
    assert len(entra.discovery_requests) == 1  # the constructor already fetched the metadata
    assert entra.token_requests == []

    first = app.acquire_token_for_client(scopes=GRAPH_SCOPES)
    second = app.acquire_token_for_client(scopes=GRAPH_SCOPES)

    assert first["access_token"] == "entra-token-1"
    assert first["token_source"] == "identity_provider"
    assert second["access_token"] == "entra-token-1"
    assert second["token_source"] == "cache"
    [request] = entra.token_requests
    assert request.path == f"/{TENANT}/oauth2/v2.0/token"
    assert request.form == {
        "client_id": CLIENT_ID,
        "grant_type": "client_credentials",
        "scope": GRAPH_SCOPES[0],
        "client_info": "1",
        "client_secret": SECRET,
    }
    assert request.headers["x-ms-lib-capability"] == "retry-after, h429"
    uuid.UUID(request.headers["client-request-id"])


def test_wrong_client_secret_is_an_error_result_not_an_exception(
    entra: FakeEntra, confidential_client: Callable[..., Any]
) -> None:
    app = confidential_client("not-the-secret")

    result = app.acquire_token_for_client(scopes=GRAPH_SCOPES)

    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert result["correlation_id"] == entra.token_requests[0].headers["client-request-id"]
    assert entra.issued_tokens == []


def test_unknown_tenant_fails_in_the_msal_constructor(confidential_client: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        confidential_client(SECRET, tenant="some-other-tenant")


def test_scripted_throttling_reaches_msal_as_an_error_result(
    entra: FakeEntra, confidential_client: Callable[..., Any]
) -> None:
    entra.enqueue(
        429,
        json=entra_error("temporarily_unavailable", 50196, "The server is busy."),
        headers={"Retry-After": "1"},
    )
    app = confidential_client(SECRET)

    result = app.acquire_token_for_client(scopes=GRAPH_SCOPES)

    assert result["error"] == "temporarily_unavailable"
    assert entra.pending_scripted == 0


@pytest.fixture(scope="module")
def client_certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClientCertificate]:
    # RSA key generation is the slow part of these tests; do it once.
    directory = tmp_path_factory.mktemp("client-certs")
    return {
        "plain": make_client_certificate(directory, name="plain"),
        "encrypted": make_client_certificate(directory, name="encrypted", password=b"key-passphrase"),
        "unregistered": make_client_certificate(directory, name="unregistered"),
    }


@pytest.mark.parametrize("key", ["plain", "encrypted"])
@pytest.mark.parametrize(
    ("how", "algorithm", "thumbprint_header"),
    [("thumbprint", "RS256", "x5t"), ("public_certificate", "PS256", "x5t#S256")],
)
def test_certificate_credential_gets_a_token(
    entra: FakeEntra,
    confidential_client: Callable[..., Any],
    client_certificates: dict[str, ClientCertificate],
    key: str,
    how: str,
    algorithm: str,
    thumbprint_header: str,
) -> None:
    certificate = client_certificates[key]
    entra.register_client(TENANT, CLIENT_ID, certificate=certificate.certificate)
    credential: dict[str, str] = {"private_key": certificate.pem}
    if how == "thumbprint":
        credential["thumbprint"] = certificate.sha1_thumbprint
    else:
        credential["public_certificate"] = certificate.certificate_pem
    if certificate.password is not None:
        credential["passphrase"] = certificate.password.decode()
    app = confidential_client(credential)

    result = app.acquire_token_for_client(scopes=GRAPH_SCOPES)

    assert result.get("access_token") == "entra-token-1", result
    [request] = entra.token_requests
    assert "client_secret" not in request.form
    assert request.form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = jwt.get_unverified_header(request.form["client_assertion"])
    assert header["alg"] == algorithm
    assert thumbprint_header in header


def test_assertion_signed_by_an_unregistered_certificate_is_refused(
    entra: FakeEntra,
    confidential_client: Callable[..., Any],
    client_certificates: dict[str, ClientCertificate],
) -> None:
    entra.register_client(TENANT, CLIENT_ID, certificate=client_certificates["plain"].certificate)
    stranger = client_certificates["unregistered"]
    app = confidential_client({"private_key": stranger.pem, "thumbprint": stranger.sha1_thumbprint})

    result = app.acquire_token_for_client(scopes=GRAPH_SCOPES)

    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


# -- Graph -----------------------------------------------------------------------------------


def bearer(token: str = "any-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_graph_accepts_send_mail_with_202_and_records_it(graph: FakeGraph) -> None:
    message = {"message": {"subject": "Disk full"}, "saveToSentItems": False}

    response = requests.post(
        send_mail_url(graph),
        json=message,
        headers={**bearer(), "client-request-id": "my-correlation-id"},
        timeout=5,
    )

    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["client-request-id"] == "my-correlation-id"
    uuid.UUID(response.headers["request-id"])
    [sent] = graph.sent
    assert sent.mailbox == MAILBOX
    assert sent.path == "/v1.0/users/alerts%40contoso.example/sendMail"
    assert sent.json == message
    assert sent.headers["content-type"] == "application/json"
    assert graph.requests == [sent]


def test_graph_serves_scripted_answers_in_order_then_the_default(graph: FakeGraph) -> None:
    graph.enqueue(
        429,
        json=graph_error("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
        headers={"Retry-After": "2"},
    )
    graph.enqueue(503, json=graph_error("ServiceNotAvailable", "Try later."))

    throttled = requests.post(send_mail_url(graph), json={}, headers=bearer(), timeout=5)
    unavailable = requests.post(send_mail_url(graph), json={}, headers=bearer(), timeout=5)
    accepted = requests.post(send_mail_url(graph), json={}, headers=bearer(), timeout=5)

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    error = throttled.json()["error"]
    assert error["code"] == "ApplicationThrottled"
    assert error["innerError"]["request-id"] == throttled.headers["request-id"]
    assert unavailable.status_code == 503
    assert accepted.status_code == 202
    assert [request.status for request in graph.requests] == [429, 503, 202]
    assert len(graph.sent) == 1


def test_graph_delay_causes_a_client_read_timeout(graph: FakeGraph) -> None:
    graph.enqueue(202, delay_s=2.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(send_mail_url(graph), json={}, headers=bearer(), timeout=0.2)

    # The request arrived (and Graph would still send it): the timeout is the client's.
    [request] = graph.requests
    assert request.status == 202


def test_graph_close_without_answer_is_a_connection_error(graph: FakeGraph) -> None:
    graph.enqueue(202, close_without_answer=True)

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(send_mail_url(graph), json={}, headers=bearer(), timeout=5)

    [request] = graph.requests
    assert request.status is None
    assert graph.sent == []


def test_graph_refuses_unknown_missing_and_expired_tokens(graph: FakeGraph) -> None:
    graph.valid_tokens.add("token-1")

    def status_for(headers: dict[str, str]) -> int:
        return requests.post(send_mail_url(graph), json={}, headers=headers, timeout=5).status_code

    assert status_for(bearer("token-1")) == 202
    assert status_for(bearer("forged")) == 401
    assert status_for({}) == 401
    graph.expire_tokens()
    assert status_for(bearer("token-1")) == 401
    graph.valid_tokens.add("token-2")
    assert status_for(bearer("token-2")) == 202

    refused = requests.post(send_mail_url(graph), json={}, headers=bearer("forged"), timeout=5)
    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert [request.status for request in graph.requests] == [202, 401, 401, 401, 202, 401]


def test_graph_accepts_managed_identity_tokens_until_they_expire(
    graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    def status_for(token: str) -> int:
        return requests.post(send_mail_url(graph), json={}, headers=bearer(token), timeout=5).status_code

    token = managed_identity_client(msal.SystemAssignedManagedIdentity()).acquire_token_for_client(
        resource=GRAPH_RESOURCE
    )["access_token"]
    assert status_for(token) == 202
    assert status_for("made-up") == 401  # once tokens are registered, only those count

    graph.expire_tokens()
    assert status_for(token) == 401

    fresh_token = managed_identity_client(msal.SystemAssignedManagedIdentity()).acquire_token_for_client(
        resource=GRAPH_RESOURCE
    )["access_token"]
    assert fresh_token != token
    assert status_for(fresh_token) == 202


def test_graph_refuses_a_fifth_concurrent_request_per_mailbox(graph: FakeGraph) -> None:
    graph.default_delay_s = 0.5  # long enough for all requests to overlap
    mailboxes = ["busy@contoso.example"] * 6 + ["quiet@contoso.example"] * 2

    with ThreadPoolExecutor(max_workers=len(mailboxes)) as pool:
        responses = list(
            pool.map(
                lambda mailbox: requests.post(send_mail_url(graph, mailbox), json={}, headers=bearer(), timeout=5),
                mailboxes,
            )
        )

    busy = sorted(response.status_code for response in responses[:6])
    assert busy == [202] * 4 + [429] * 2, "Outlook allows 4 concurrent requests per app and mailbox"
    assert [response.status_code for response in responses[6:]] == [202, 202], "other mailboxes are not affected"
    [throttled, _] = [response for response in responses if response.status_code == 429]
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert throttled.json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    assert throttled.headers["Retry-After"] == "1"
    assert graph.concurrency_refusals == 2
    assert graph.max_concurrent_per_mailbox["busy@contoso.example"] >= 5, "the refused ones were in flight too"


def test_graph_blocks_a_mailbox_past_its_recipient_rate_and_still_answers_202(graph: FakeGraph) -> None:
    graph.recipients_per_day = 5
    three = {"message": {"toRecipients": [{"emailAddress": {"address": f"u{n}@contoso.com"}} for n in range(3)]}}
    answers = [requests.post(send_mail_url(graph), json=three, headers=bearer(), timeout=5) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 202], "a 202 tells nothing of the block"
    assert len(graph.sent) == 3
    assert [request.status for request in graph.blocked] == [202, 202], "6 > 5: blocked from then on"
    assert graph.delivered == graph.sent[:1]


def test_graph_reads_chunked_bodies(graph: FakeGraph) -> None:
    # requests sends a generator body with Transfer-Encoding: chunked, no Content-Length.
    response = requests.post(
        send_mail_url(graph), data=iter([b'{"message": ', b'{"subject": "x"}}']), headers=bearer(), timeout=5
    )

    assert response.status_code == 202
    assert graph.sent[0].json == {"message": {"subject": "x"}}


def test_graph_rejects_bodies_over_4_mb(graph: FakeGraph) -> None:
    at_limit = requests.post(send_mail_url(graph), data=b"x" * MAX_REQUEST_BYTES, headers=bearer(), timeout=5)
    over = requests.post(send_mail_url(graph), data=b"x" * (MAX_REQUEST_BYTES + 1), headers=bearer(), timeout=5)

    assert at_limit.status_code == 202
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "RequestEntityTooLarge"


def test_graph_answers_other_routes_with_404(graph: FakeGraph) -> None:
    response = requests.post(f"{graph.base_url}/v1.0/me/sendMail", json={}, headers=bearer(), timeout=5)

    assert response.status_code == 404
    assert graph.requests[0].mailbox is None


def test_graph_stops_cleanly_with_open_connections_and_pending_delays() -> None:
    slow_outcome: list[BaseException] = []
    with FakeGraph() as graph:  # stop() is called below; the block only cleans up after a failure
        url = send_mail_url(graph)
        threads_of_graph = f"FakeGraph-{graph.port}"  # the loop and every connection's thread
        session = requests.Session()  # keeps its connection open after the first request
        assert session.post(url, json={}, headers=bearer(), timeout=5).status_code == 202
        graph.enqueue(202, delay_s=30)

        def send_slowly() -> None:
            try:
                requests.post(url, json={}, headers=bearer(), timeout=5)
            except requests.RequestException as exc:
                slow_outcome.append(exc)

        slow = threading.Thread(target=send_slowly)
        slow.start()
        while len(graph.requests) < 2:  # the slow request is in its delay
            time.sleep(0.01)

        graph.stop()

    slow.join(timeout=2)
    assert not slow.is_alive()
    assert [type(exc) for exc in slow_outcome] == [requests.exceptions.ConnectionError]
    assert [thread.name for thread in threading.enumerate() if thread.name.startswith(threads_of_graph)] == []
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post(url, json={}, timeout=1)
