"""Caller authentication on /api/hooks: each source's ``verify``. GitHub's X-Hub-Signature-256
(shared/sources/github.py), the HOOK_BEARER_TOKEN (shared/sources/auth.py) and Azure Monitor's Entra
token (shared/sources/azure_monitor/).

A refused caller gets 401 and nothing reaches Graph. GitHub's side of the contract comes from
GitHub Docs, "Validating webhook deliveries"
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), including the
test vector below. Grafana's signature is tested with the Grafana source.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.settings import SettingsError
from shared.sources import SOURCES
from shared.sources.auth import SignatureInvalid
from shared.sources.github import verify_signature as verify_github_signature
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.fakes.jwks import FakeEntraKeys, action_group_claims
from tests.helpers.app import DATA, hook_request, response_json, settings_from

# "Testing the webhook payload validation", GitHub Docs, Validating webhook deliveries.
TEST_VECTOR_SECRET = "It's a Secret to Everybody"
TEST_VECTOR_PAYLOAD = b"Hello, World!"
TEST_VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

SECRET = "6f1b0d2c-a-webhook-secret-with-entropy"
TOKEN = "hook-token-4Kq9vXw2Lr7T"
WORKFLOW_FAILURE = (DATA / "github" / "workflow_run.completed.failure.json").read_bytes()
FAILURE_SUBJECT = "[failure] CI on main — contoso/webshop"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(event: str = "workflow_run", **extra: str) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": "0b9e2b40-1f6c-11ef-8a7e-3c2a1e0f4d55", **extra}


# --- GitHub's published test vector ------------------------------------------------------------


def test_github_test_vector_is_accepted() -> None:
    verify_github_signature(TEST_VECTOR_SIGNATURE, TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET)  # does not raise


@pytest.mark.parametrize(
    ("signature", "payload", "secret"),
    [
        (None, TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET),
        ("", TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET),
        (TEST_VECTOR_SIGNATURE, b"Hello, World?", TEST_VECTOR_SECRET),
        (TEST_VECTOR_SIGNATURE, TEST_VECTOR_PAYLOAD + b"\n", TEST_VECTOR_SECRET),
        (TEST_VECTOR_SIGNATURE, TEST_VECTOR_PAYLOAD, "It's a secret to everybody"),
        (TEST_VECTOR_SIGNATURE.removeprefix("sha256="), TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET),
        (TEST_VECTOR_SIGNATURE[:-1] + "8", TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET),
        (TEST_VECTOR_SIGNATURE[:-2], TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET),
        ("sha1=" + TEST_VECTOR_SIGNATURE.removeprefix("sha256="), TEST_VECTOR_PAYLOAD, TEST_VECTOR_SECRET),
        (
            "sha1=" + hmac.new(TEST_VECTOR_SECRET.encode(), TEST_VECTOR_PAYLOAD, hashlib.sha1).hexdigest(),
            TEST_VECTOR_PAYLOAD,
            TEST_VECTOR_SECRET,
        ),
    ],
    ids=[
        "missing",
        "empty",
        "other-payload",
        "payload-with-newline",
        "other-secret",
        "without-sha256-prefix",
        "last-digit-changed",
        "truncated",
        "sha1-prefix",
        "real-sha1-signature",
    ],
)
def test_github_test_vector_variants_are_refused(signature: str | None, payload: bytes, secret: str) -> None:
    with pytest.raises(SignatureInvalid):
        verify_github_signature(signature, payload, secret)


def test_the_signature_covers_the_raw_utf8_body() -> None:
    body = json.dumps({"message": "Grüße, 世界"}, ensure_ascii=False).encode()
    verify_github_signature(sign(body), body, SECRET)
    with pytest.raises(SignatureInvalid):
        verify_github_signature(sign(json.dumps({"message": "Grüße, 世界"}).encode()), body, SECRET)


# --- GitHub signatures through POST /api/hooks/github ------------------------------------------


@pytest.fixture
def signed_runtime(mi_runtime: RuntimeFactory) -> Callable[..., Any]:
    def factory(**settings: str) -> Any:
        return mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", GITHUB_WEBHOOK_SECRET=SECRET, **settings)

    return factory


def test_a_correctly_signed_delivery_is_mailed(signed_runtime: Callable[..., Any], graph: FakeGraph) -> None:
    request = hook_request(
        "github", WORKFLOW_FAILURE, headers=github_headers(**{"X-Hub-Signature-256": sign(WORKFLOW_FAILURE)})
    )
    response = handle_hook(request, signed_runtime())
    assert response.status_code == 202, response.get_body()
    assert [sent.message["subject"] for sent in graph.sent] == [FAILURE_SUBJECT]


def test_a_signed_form_body_is_checked_as_sent(signed_runtime: Callable[..., Any], graph: FakeGraph) -> None:
    """GitHub signs the raw form body (payload=...), not the JSON inside it."""
    form = urllib.parse.urlencode({"payload": WORKFLOW_FAILURE.decode()}).encode()
    content_type = "application/x-www-form-urlencoded"
    runtime = signed_runtime()
    good = hook_request(
        "github", form, content_type=content_type, headers=github_headers(**{"x-hub-signature-256": sign(form)})
    )
    assert handle_hook(good, runtime).status_code == 202
    of_the_json = hook_request(
        "github",
        form,
        content_type=content_type,
        headers=github_headers(**{"X-Hub-Signature-256": sign(WORKFLOW_FAILURE)}),
    )
    assert handle_hook(of_the_json, runtime).status_code == 401
    assert len(graph.sent) == 1


FORGED_SIGNATURES: dict[str, dict[str, str]] = {
    "missing": {},
    "empty": {"X-Hub-Signature-256": ""},
    "wrong": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    "of-a-different-body": {"X-Hub-Signature-256": sign(WORKFLOW_FAILURE.replace(b"failure", b"success"))},
    "with-another-secret": {"X-Hub-Signature-256": sign(WORKFLOW_FAILURE, "not-the-secret")},
    "sha1-prefix-only": {"X-Hub-Signature-256": "sha1=" + sign(WORKFLOW_FAILURE).removeprefix("sha256=")},
    "legacy-sha1-header-only": {
        "X-Hub-Signature": "sha1=" + hmac.new(SECRET.encode(), WORKFLOW_FAILURE, hashlib.sha1).hexdigest()
    },
    "bare-hex": {"X-Hub-Signature-256": sign(WORKFLOW_FAILURE).removeprefix("sha256=")},
}


@pytest.mark.parametrize("headers", FORGED_SIGNATURES.values(), ids=FORGED_SIGNATURES.keys())
def test_a_forged_delivery_gets_401_and_sends_nothing(
    headers: dict[str, str], signed_runtime: Callable[..., Any], graph: FakeGraph
) -> None:
    response = handle_hook(
        hook_request("github", WORKFLOW_FAILURE, headers=github_headers(**headers)), signed_runtime()
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response_json(response)["code"] == "signature_invalid"
    assert "X-Hub-Signature-256" in response_json(response)["detail"]
    assert graph.requests == []


def test_the_signature_is_checked_before_the_body_is_read(signed_runtime: Callable[..., Any], graph: FakeGraph) -> None:
    """An unsigned caller learns nothing from parse errors, and a forged ping gets no pong."""
    runtime = signed_runtime()
    for body, event in ((b"{not json", "workflow_run"), (b"{}", "ping")):
        response = handle_hook(hook_request("github", body, headers=github_headers(event)), runtime)
        assert (response.status_code, response_json(response)["code"]) == (401, "signature_invalid")
    signed_ping = hook_request("github", b"{}", headers=github_headers("ping", **{"X-Hub-Signature-256": sign(b"{}")}))
    assert handle_hook(signed_ping, runtime).status_code == 200
    assert graph.requests == []


def test_the_github_secret_applies_to_github_only(signed_runtime: Callable[..., Any], graph: FakeGraph) -> None:
    response = handle_hook(hook_request("slack", {"text": "Backup failed"}), signed_runtime())
    assert response.status_code == 202
    assert len(graph.sent) == 1


def test_without_a_secret_no_signature_is_needed(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    request = hook_request("github", WORKFLOW_FAILURE, headers=github_headers())
    assert handle_hook(request, mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")).status_code == 202
    assert len(graph.sent) == 1


# --- HOOK_BEARER_TOKEN, on every source ---------------------------------------------------------


REFUSED_ON_EVERY_SOURCE: dict[str, dict[str, str]] = {
    "missing": {},
    "basic-scheme": {"Authorization": "Basic aG9vazpob29rLXRva2VuLTRLcTl2WHcyTHI3VA=="},
    "wrong-token": {"Authorization": "Bearer hook-token-4Kq9vXw2Lr7t"},
}
# The check does not depend on the source; these are tried on one.
REFUSED_ON_ONE_SOURCE: dict[str, dict[str, str]] = {
    "empty": {"Authorization": ""},
    "token-scheme": {"Authorization": f"token {TOKEN}"},
    "no-scheme": {"Authorization": TOKEN},
    "bearer-without-token": {"Authorization": "Bearer"},
    "prefix-of-token": {"Authorization": f"Bearer {TOKEN[:-1]}"},
    "token-and-more": {"Authorization": f"Bearer {TOKEN}x"},
    "non-ascii-token": {"Authorization": "Bearer höök-tökén"},
}
REFUSED_CASES = [
    *(
        pytest.param(source, headers, id=f"{source}-{name}")
        for source in SOURCES
        if source != "azure-monitor"
        for name, headers in REFUSED_ON_EVERY_SOURCE.items()
    ),
    *(pytest.param("github", headers, id=f"github-{name}") for name, headers in REFUSED_ON_ONE_SOURCE.items()),
]


@pytest.mark.parametrize(("source", "headers"), REFUSED_CASES)
def test_a_bearer_token_is_required_on_every_source(
    source: str, headers: dict[str, str], mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    response = handle_hook(hook_request(source, WORKFLOW_FAILURE, headers={**github_headers(), **headers}), runtime)
    assert response.status_code == 401
    assert response_json(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mailhook"'
    assert TOKEN not in response.get_body().decode()
    assert graph.requests == []


@pytest.mark.parametrize("source", SOURCES)
def test_the_right_bearer_token_passes_on_every_source(
    source: str, mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    """Past the caller check, the payload is the source's business: whatever it says, not 401."""
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    headers = github_headers("push", Authorization=f"Bearer {TOKEN}")
    response = handle_hook(hook_request(source, {}, headers=headers), runtime)
    assert response.status_code != 401, response.get_body()


@pytest.mark.parametrize(
    "authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER  {TOKEN} "], ids=["Bearer", "bearer", "BEARER"]
)
@pytest.mark.parametrize(
    ("source", "body", "subject"),
    [("github", WORKFLOW_FAILURE, FAILURE_SUBJECT), ("slack", b'{"text": "Backup failed"}', "Backup failed")],
    ids=["github", "slack"],
)
def test_the_right_bearer_token_gets_the_mail_sent(
    source: str, body: bytes, subject: str, authorization: str, mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    response = handle_hook(hook_request(source, body, headers=github_headers(Authorization=authorization)), runtime)
    assert response.status_code == 202, response.get_body()
    assert [sent.message["subject"] for sent in graph.sent] == [subject]


def test_azure_monitor_needs_no_bearer_token(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    """Action groups cannot add a header of ours (a secure webhook sends its own Entra token)."""
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    alert = (Path(__file__).parents[1] / "data" / "azure-monitor" / "metric-static-fired.json").read_bytes()
    assert handle_hook(hook_request("azure-monitor", alert), runtime).status_code == 202
    assert len(graph.sent) == 1


def test_with_a_github_secret_the_signature_alone_authenticates_github(
    signed_runtime: Callable[..., Any], graph: FakeGraph
) -> None:
    """GitHub cannot send a bearer token; its HMAC signature proves it instead."""
    runtime = signed_runtime(HOOK_BEARER_TOKEN=TOKEN)
    token_only = github_headers(Authorization=f"Bearer {TOKEN}")
    response = handle_hook(hook_request("github", WORKFLOW_FAILURE, headers=token_only), runtime)
    assert (response.status_code, response_json(response)["code"]) == (401, "signature_invalid")
    assert graph.requests == []
    signed = github_headers(**{"X-Hub-Signature-256": sign(WORKFLOW_FAILURE)})
    assert handle_hook(hook_request("github", WORKFLOW_FAILURE, headers=signed), runtime).status_code == 202
    assert len(graph.sent) == 1


def test_secrets_are_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, signed_runtime: Callable[..., Any], graph: FakeGraph
) -> None:
    """Timing cannot be measured reliably in a test; what can be seen is every check going through
    hmac.compare_digest, whose running time does not depend on where the inputs differ."""
    compared: list[tuple[bytes, bytes]] = []
    real_compare_digest = hmac.compare_digest

    def spy(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return real_compare_digest(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module shared/sources/auth.py calls through
    runtime = signed_runtime(HOOK_BEARER_TOKEN=TOKEN)
    slack = hook_request("slack", b'{"text": "x"}', headers={"Authorization": "Bearer wrong-token"})
    assert handle_hook(slack, runtime).status_code == 401
    assert compared == [(b"wrong-token", TOKEN.encode())]
    headers = github_headers(**{"X-Hub-Signature-256": sign(b"other")})
    assert handle_hook(hook_request("github", WORKFLOW_FAILURE, headers=headers), runtime).status_code == 401
    assert compared[1:] == [(sign(b"other").encode(), sign(WORKFLOW_FAILURE).encode())]


def test_an_unauthenticated_caller_cannot_probe_route_names(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    """Route names ("payments", "db") say something about the organisation; a caller without the
    token should get the same 401 for a route that exists and one that does not."""
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    response = handle_hook(hook_request("github", b"{}", route="no-such-route", headers=github_headers()), runtime)
    assert response.status_code == 401


# --- Azure Monitor secure webhooks: the action group's Entra ID token ---------------------------

MONITOR_TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
MONITOR_CLIENT_ID = "c0ffee00-1234-4abc-8def-000000000001"


@pytest.fixture
def entra_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEntraKeys]:
    with FakeEntraKeys(MONITOR_TENANT, cert_dir=tmp_path / "entra-keys-tls") as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)
        yield fake


def test_an_azure_monitor_secure_webhook_needs_its_entra_token(
    mi_runtime: RuntimeFactory, graph: FakeGraph, entra_keys: FakeEntraKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = {
        "MAIL_DEFAULT_TO": "oncall@contoso.com",
        "HOOK_BEARER_TOKEN": TOKEN,  # the Entra token replaces it on this source
        "AZURE_MONITOR_WEBHOOK_AUDIENCE": f"{MONITOR_CLIENT_ID}, api://mailhook",
        "AZURE_TENANT_ID": MONITOR_TENANT,
        "AZURE_AUTHORITY_HOST": entra_keys.authority_host,
    }
    runtime = mi_runtime(**settings)
    alert = (DATA / "azure-monitor" / "metric-static-fired.json").read_bytes()
    claims = action_group_claims(tenant=MONITOR_TENANT, audience=MONITOR_CLIENT_ID, issuer=entra_keys.v2_issuer)
    token = entra_keys.sign(claims)

    def post(**headers: str) -> Any:
        return handle_hook(hook_request("azure-monitor", alert, headers=headers), runtime)

    missing = post()
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="mailhook"'
    assert response_json(missing)["code"] == "token_invalid"
    no_role = post(Authorization="Bearer " + entra_keys.sign({**claims, "roles": []}))
    assert no_role.status_code == 401
    assert "ActionGroupsSecureWebhook" in response_json(no_role)["detail"]
    assert post(Authorization=f"Bearer {TOKEN}").status_code == 401  # the hook token is no Entra token
    assert graph.sent == []

    assert post(Authorization=f"Bearer {token}").status_code == 202
    assert len(graph.sent) == 1
    assert entra_keys.key_request_count == 1  # one verifier per process: the keys stay cached
    assert token not in caplog.text

    forged = entra_keys.sign(claims, key=entra_keys.new_key(publish=False))
    assert post(Authorization=f"Bearer {forged}").status_code == 401
    assert entra_keys.key_request_count == 1  # an unknown kid refetches at most every 5 minutes

    entra_keys.enqueue(500)  # another process, whose first key fetch finds Entra down
    other_process = mi_runtime(**settings)
    request = hook_request("azure-monitor", alert, headers={"Authorization": f"Bearer {token}"})
    unavailable = handle_hook(request, other_process)
    assert unavailable.status_code == 503  # action groups retry a 503, never a 401
    assert response_json(unavailable)["code"] == "signing_keys_unavailable"
    assert unavailable.headers["Retry-After"] == "10"
    assert len(graph.sent) == 1


def test_azure_monitor_webhook_audience_needs_the_tenant_guid() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from(AZURE_MONITOR_WEBHOOK_AUDIENCE="api://mailhook", AZURE_TENANT_ID="contoso.onmicrosoft.com")
    assert [p.setting for p in caught.value.problems] == ["AZURE_TENANT_ID"]
    with pytest.raises(SettingsError):
        settings_from(AZURE_MONITOR_WEBHOOK_AUDIENCE="api://mailhook")
    assert settings_from().hook_auth.azure_monitor_audiences == ()


def test_a_replayed_signed_github_delivery_is_mailed_once_whatever_its_delivery_headers(
    signed_runtime: Callable[..., Any], graph: FakeGraph
) -> None:
    """X-GitHub-Delivery and Idempotency-Key are not signed: a replay with fresh values is the same delivery."""
    runtime = signed_runtime()
    answers = []
    for attempt in range(20):
        headers = {
            **github_headers(**{"X-Hub-Signature-256": sign(WORKFLOW_FAILURE)}),
            "X-GitHub-Delivery": f"00000000-0000-0000-0000-{attempt:012d}",
            "Idempotency-Key": f"replay-{attempt}",
        }
        answers.append(handle_hook(hook_request("github", WORKFLOW_FAILURE, headers=headers), runtime))
    assert [answer.status_code for answer in answers] == [202] * 20
    assert {response_json(answer)["requestId"] for answer in answers[1:]} == {response_json(answers[0])["requestId"]}
    assert len(graph.sent) == 1


def test_without_a_secret_a_github_redelivery_is_known_by_its_delivery_id(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    for delivery in ("first", "first", "second"):
        headers = {**github_headers(), "X-GitHub-Delivery": delivery}
        assert handle_hook(hook_request("github", WORKFLOW_FAILURE, headers=headers), runtime).status_code == 202
    assert len(graph.sent) == 2
