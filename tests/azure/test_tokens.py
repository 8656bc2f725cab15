"""Every credential flow against the fake identity services, ending in a real send to the fake Graph."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12

from shared.endpoints.mail import handle_mail
from tests.conftest import CLIENT_ID, CLIENT_SECRET, TENANT, RuntimeFactory
from tests.fakes.entra import FakeEntra
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.fakes.tls import make_client_certificate
from tests.helpers.app import mail_request, response_json

SIMPLE = {"to": "ops@contoso.com", "subject": "x"}


def entra_settings(entra: FakeEntra, **extra: str) -> dict[str, str]:
    return {
        "AZURE_AUTHORITY_HOST": entra.authority_host,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        **extra,
    }


def test_system_assigned_identity(mi_runtime: RuntimeFactory, identity: FakeManagedIdentity, graph: FakeGraph) -> None:
    assert handle_mail(mail_request(SIMPLE), mi_runtime()).status_code == 202
    [token_request] = identity.token_requests
    assert token_request.query["resource"] == "https://graph.microsoft.com"
    assert "client_id" not in token_request.query
    assert token_request.headers["x-identity-header"] == identity.identity_header
    assert graph.sent[0].headers["authorization"] == f"Bearer {identity.issued_tokens[0]}"


def test_user_assigned_identity_names_its_client_id(
    mi_runtime: RuntimeFactory, identity: FakeManagedIdentity, graph: FakeGraph
) -> None:
    assert handle_mail(mail_request(SIMPLE), mi_runtime(AZURE_CLIENT_ID="uami-client-id")).status_code == 202
    assert identity.token_requests[0].query["client_id"] == "uami-client-id"


@pytest.mark.parametrize(
    ("cloud", "audience"),
    [
        ("usgov", "https://graph.microsoft.us"),
        ("usgovdod", "https://dod-graph.microsoft.us"),
        ("china", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_national_cloud_managed_identity_audience(
    mi_runtime: RuntimeFactory, identity: FakeManagedIdentity, cloud: str, audience: str
) -> None:
    assert handle_mail(mail_request(SIMPLE), mi_runtime(GRAPH_CLOUD=cloud)).status_code == 202
    assert identity.token_requests[0].query["resource"] == audience


def test_managed_identity_refusal_is_502_token_refused(
    mi_runtime: RuntimeFactory, identity: FakeManagedIdentity, graph: FakeGraph
) -> None:
    identity.enqueue(400, json={"statusCode": 400, "message": "No managed identity assigned"})
    response = handle_mail(mail_request(SIMPLE), mi_runtime())
    assert response.status_code == 502
    assert response_json(response)["code"] == "token_refused"
    assert graph.requests == []


def test_client_secret(graph_runtime: RuntimeFactory, entra: FakeEntra, graph: FakeGraph) -> None:
    runtime = graph_runtime(**entra_settings(entra, AZURE_CLIENT_SECRET=CLIENT_SECRET))
    for _ in range(3):
        assert handle_mail(mail_request(SIMPLE), runtime).status_code == 202
    [token_request] = entra.token_requests
    assert token_request.path == f"/{TENANT}/oauth2/v2.0/token"
    assert token_request.form["grant_type"] == "client_credentials"
    assert token_request.form["scope"] == "https://graph.microsoft.com/.default"
    assert token_request.form["client_secret"] == CLIENT_SECRET
    assert {r.headers["authorization"] for r in graph.sent} == {f"Bearer {entra.issued_tokens[0]}"}


def test_national_cloud_client_secret_scope(graph_runtime: RuntimeFactory, entra: FakeEntra) -> None:
    runtime = graph_runtime(**entra_settings(entra, AZURE_CLIENT_SECRET=CLIENT_SECRET, GRAPH_CLOUD="usgov"))
    assert handle_mail(mail_request(SIMPLE), runtime).status_code == 202
    assert entra.token_requests[0].form["scope"] == "https://graph.microsoft.us/.default"


def test_wrong_client_secret_is_502_and_names_no_secret(
    graph_runtime: RuntimeFactory, entra: FakeEntra, graph: FakeGraph
) -> None:
    runtime = graph_runtime(**entra_settings(entra, AZURE_CLIENT_SECRET="wrong-secret-value"))
    response = handle_mail(mail_request(SIMPLE), runtime)
    assert response.status_code == 502
    document = response_json(response)
    assert (document["code"], document["identityError"]) == ("token_refused", "invalid_client")
    assert b"wrong-secret-value" not in response.get_body()
    assert graph.requests == []


def test_custom_authority_host_is_the_only_host_called(
    graph_runtime: RuntimeFactory, entra: FakeEntra, graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any request to a host other than loopback would go through this proxy, which is closed.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    runtime = graph_runtime(**entra_settings(entra, AZURE_CLIENT_SECRET=CLIENT_SECRET))
    assert handle_mail(mail_request(SIMPLE), runtime).status_code == 202
    assert [r.path for r in entra.discovery_requests] == [f"/{TENANT}/v2.0/.well-known/openid-configuration"]


@pytest.mark.parametrize("password", [None, b"pem-passphrase"])
def test_pem_certificate(
    graph_runtime: RuntimeFactory, entra: FakeEntra, graph: FakeGraph, tmp_path: Path, password: bytes | None
) -> None:
    certificate = make_client_certificate(tmp_path, password=password)
    entra.register_client(TENANT, "cert-app", certificate=certificate.certificate)
    settings = entra_settings(
        entra, AZURE_CLIENT_ID="cert-app", AZURE_CLIENT_CERTIFICATE_PATH=str(certificate.pem_path)
    )
    if password:
        settings["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = password.decode()
    assert handle_mail(mail_request(SIMPLE), graph_runtime(**settings)).status_code == 202
    form = entra.token_requests[0].form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert "client_secret" not in form
    assert len(graph.sent) == 1


def test_pkcs12_certificate(graph_runtime: RuntimeFactory, entra: FakeEntra, graph: FakeGraph, tmp_path: Path) -> None:
    certificate = make_client_certificate(tmp_path)
    key = load_pem_private_key(certificate.pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pfx = tmp_path / "client.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"mailhook",
            key,
            certificate.certificate,
            None,
            BestAvailableEncryption(b"pfx-pass"),
        )
    )
    entra.register_client(TENANT, "pfx-app", certificate=certificate.certificate)
    settings = entra_settings(
        entra,
        AZURE_CLIENT_ID="pfx-app",
        AZURE_CLIENT_CERTIFICATE_PATH=str(pfx),
        AZURE_CLIENT_CERTIFICATE_PASSWORD="pfx-pass",
    )
    assert handle_mail(mail_request(SIMPLE), graph_runtime(**settings)).status_code == 202
    assert len(graph.sent) == 1


def test_unregistered_certificate_is_refused(graph_runtime: RuntimeFactory, entra: FakeEntra, tmp_path: Path) -> None:
    certificate = make_client_certificate(tmp_path)
    settings = entra_settings(entra, AZURE_CLIENT_CERTIFICATE_PATH=str(certificate.pem_path))
    response = handle_mail(mail_request(SIMPLE), graph_runtime(**settings))
    assert response.status_code == 502
    assert response_json(response)["code"] == "token_refused"


def test_identity_provider_failure_is_503_with_retry_after(graph_runtime: RuntimeFactory, entra: FakeEntra) -> None:
    entra.enqueue(500, json={"error": "temporarily_unavailable"})
    runtime = graph_runtime(**entra_settings(entra, AZURE_CLIENT_SECRET=CLIENT_SECRET))
    response = handle_mail(mail_request(SIMPLE), runtime)
    assert response.status_code == 503
    assert response_json(response)["code"] == "token_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_unreachable_authority_is_503(graph_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    settings = {
        "AZURE_AUTHORITY_HOST": "https://127.0.0.1:9",
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
    }
    response = handle_mail(mail_request(SIMPLE), graph_runtime(**settings))
    assert response.status_code == 503
    assert "AZURE_AUTHORITY_HOST" in response_json(response)["detail"]
