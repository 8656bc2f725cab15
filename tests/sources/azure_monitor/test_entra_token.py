"""Entra ID bearer tokens of Azure Monitor secure webhooks, against a fake signing-key endpoint.

Tokens are signed here with RSA keys the fake publishes (tests/fakes/jwks.py); the claims follow
learn.microsoft.com/entra/identity-platform/access-token-claims-reference and the key handling
learn.microsoft.com/entra/identity-platform/signing-key-rollover (see shared/entra_webhook_auth.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from shared.runtime import new_http_session
from shared.sources.azure_monitor.entra_token import (
    ACTION_GROUPS_ROLE,
    EntraTokenRejected,
    EntraWebhookVerifier,
    Rejection,
    SigningKeysUnavailable,
    entra_issuers,
)
from tests.fakes.jwks import FakeEntraKeys, action_group_claims

TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
OTHER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
CLIENT_ID = "c0ffee00-1234-4abc-8def-000000000001"  # the v2.0 aud: our app registration's client id
APP_ID_URI = "api://mailhook-alerts"  # the v1.0 aud: its Application ID URI
NOW = 1_750_000_000.0
_DROP = object()  # a claim to leave out


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def entra_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEntraKeys]:
    with FakeEntraKeys(TENANT, cert_dir=tmp_path / "entra-keys-tls") as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)
        yield fake


VerifierFactory = Callable[..., EntraWebhookVerifier]


@pytest.fixture
def make_verifier(entra_keys: FakeEntraKeys, clock: Clock) -> VerifierFactory:
    def factory(**overrides: Any) -> EntraWebhookVerifier:
        arguments: dict[str, Any] = {
            "audience": [CLIENT_ID, APP_ID_URI],
            "tenant_id": TENANT,
            "authority_host": entra_keys.authority_host,
            "session": new_http_session(),
            "clock": clock,
            **overrides,
        }
        return EntraWebhookVerifier(**arguments)

    return factory


@pytest.fixture
def verifier(make_verifier: VerifierFactory) -> EntraWebhookVerifier:
    return make_verifier()


def claims_v2(entra_keys: FakeEntraKeys, **changes: Any) -> dict[str, Any]:
    claims = action_group_claims(tenant=TENANT, audience=CLIENT_ID, issuer=entra_keys.v2_issuer, issued_at=NOW)
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not _DROP}


def claims_v1(entra_keys: FakeEntraKeys, **changes: Any) -> dict[str, Any]:
    claims = action_group_claims(
        tenant=TENANT, audience=APP_ID_URI, issuer=entra_keys.v1_issuer, version="1.0", issued_at=NOW
    )
    claims.update(changes)
    return claims


def bearer(token: str) -> str:
    return f"Bearer {token}"


def rejection(verifier: EntraWebhookVerifier, header: str | None) -> EntraTokenRejected:
    with pytest.raises(EntraTokenRejected) as caught:
        verifier.verify(header)
    return caught.value


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A JWT assembled by hand, for algorithms PyJWT refuses to produce (it will not use a PEM as HMAC secret)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def rs256_by_hand(entra_keys: FakeEntraKeys, claims: dict[str, Any]) -> str:
    """Signed by the tenant's current key without PyJWT's checks on the claims it encodes (iss must be a string)."""
    private_key = entra_keys.signing_key.private_key
    return handmade_token(
        {"alg": "RS256", "typ": "JWT", "kid": entra_keys.signing_key.kid},
        claims,
        lambda signing_input: private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()),
    )


# --- tokens that pass -------------------------------------------------------------------------


def test_a_v2_token_of_the_action_group_passes(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))  # does not raise

    [request] = entra_keys.key_requests
    assert request.method == "GET"
    assert request.path == f"/{TENANT}/discovery/v2.0/keys"


def test_a_v1_token_passes(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    verifier.verify(bearer(entra_keys.sign(claims_v1(entra_keys))))  # does not raise


def test_keys_are_fetched_once_and_cached(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    for _ in range(5):
        verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))

    assert entra_keys.key_request_count == 1


def test_any_published_key_verifies_not_only_the_newest(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys
) -> None:
    for key in entra_keys.published_keys:
        verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys), key=key)))

    assert len(entra_keys.published_keys) == 2
    assert entra_keys.key_request_count == 1


def test_the_scheme_is_case_insensitive_and_the_tenant_may_be_upper_case(
    make_verifier: VerifierFactory, entra_keys: FakeEntraKeys
) -> None:
    verifier = make_verifier(tenant_id=TENANT.upper())

    verifier.verify("bearer " + entra_keys.sign(claims_v2(entra_keys)))  # does not raise


def test_the_leeway_is_small(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys, exp=NOW - 59))))  # within 60 s
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys, nbf=NOW + 59))))

    assert rejection(verifier, bearer(entra_keys.sign(claims_v2(entra_keys, exp=NOW - 61)))).reason is Rejection.EXPIRED
    late = rejection(verifier, bearer(entra_keys.sign(claims_v2(entra_keys, nbf=NOW + 61))))
    assert late.reason is Rejection.NOT_YET_VALID


# --- each failure, with what failed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason", "says"),
    [
        (None, Rejection.MISSING, "No bearer token"),
        ("", Rejection.MISSING, "No bearer token"),
        ("   ", Rejection.MISSING, "No bearer token"),
        ("Basic dXNlcjpwYXNz", Rejection.MALFORMED, "not 'Bearer <JWT>'"),
        ("Bearer", Rejection.MALFORMED, "not 'Bearer <JWT>'"),
        ("Bearer not-a-jwt", Rejection.MALFORMED, "not 'Bearer <JWT>'"),
        ("Bearer a.b.c", Rejection.MALFORMED, "not 'Bearer <JWT>'"),
        ("Bearer " + "a" * 20_000 + ".b.c", Rejection.MALFORMED, "not 'Bearer <JWT>'"),
    ],
    ids=["none", "empty", "blank", "basic-scheme", "no-token", "not-a-jwt", "garbage-segments", "oversized"],
)
def test_headers_without_a_usable_token(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, header: str | None, reason: Rejection, says: str
) -> None:
    problem = rejection(verifier, header)

    assert (problem.reason, problem.status, problem.code) == (reason, 401, "token_invalid")
    assert says in problem.detail
    assert entra_keys.key_request_count == 0  # refused before any key is fetched


@pytest.mark.parametrize(
    ("changes", "reason", "says"),
    [
        ({"exp": NOW - 3600}, Rejection.EXPIRED, "expired"),
        ({"nbf": NOW + 600}, Rejection.NOT_YET_VALID, "not valid yet"),
        ({"exp": _DROP}, Rejection.MALFORMED, "claims"),
        ({"exp": "tomorrow"}, Rejection.MALFORMED, "claims"),
        ({"exp": True}, Rejection.MALFORMED, "claims"),
        ({"tid": OTHER_TENANT}, Rejection.WRONG_TENANT, "another Entra ID tenant"),
        ({"tid": _DROP}, Rejection.WRONG_TENANT, "another Entra ID tenant"),
        ({"tid": [TENANT]}, Rejection.WRONG_TENANT, "another Entra ID tenant"),
        ({"iss": f"https://sts.windows.net/{TENANT}/"}, Rejection.WRONG_ISSUER, "issuer"),  # another cloud's form
        ({"iss": f"https://login.microsoftonline.com/{TENANT}/v2.0"}, Rejection.WRONG_ISSUER, "issuer"),
        ({"iss": f"https://127.0.0.1:1/{TENANT}/v2.0"}, Rejection.WRONG_ISSUER, "issuer"),
        ({"iss": [f"https://127.0.0.1:1/{TENANT}/v2.0"]}, Rejection.WRONG_ISSUER, "issuer"),
        ({"aud": "https://graph.microsoft.com"}, Rejection.WRONG_AUDIENCE, "another application"),
        ({"aud": "00000000-0000-0000-0000-000000000001"}, Rejection.WRONG_AUDIENCE, "another application"),
        ({"aud": [CLIENT_ID]}, Rejection.WRONG_AUDIENCE, "another application"),
        ({"roles": _DROP}, Rejection.MISSING_ROLE, "'ActionGroupsSecureWebhook'"),
        ({"roles": []}, Rejection.MISSING_ROLE, "'ActionGroupsSecureWebhook'"),
        ({"roles": ["Reader"]}, Rejection.MISSING_ROLE, "'ActionGroupsSecureWebhook'"),
        ({"roles": "ActionGroupsSecureWebhook"}, Rejection.MISSING_ROLE, "'ActionGroupsSecureWebhook'"),
        ({"roles": ["actiongroupssecurewebhook"]}, Rejection.MISSING_ROLE, "'ActionGroupsSecureWebhook'"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "no-exp",
        "exp-not-a-number",
        "exp-boolean",
        "other-tenant",
        "no-tid",
        "tid-list",
        "v1-issuer-of-another-cloud",
        "v2-issuer-of-another-cloud",
        "issuer-of-another-host",
        "issuer-list",
        "graph-audience",
        "other-app-audience",
        "audience-list",
        "no-roles",
        "empty-roles",
        "other-role",
        "roles-not-a-list",
        "role-in-other-case",
    ],
)
def test_signed_tokens_with_wrong_claims(
    verifier: EntraWebhookVerifier,
    entra_keys: FakeEntraKeys,
    changes: dict[str, Any],
    reason: Rejection,
    says: str,
) -> None:
    problem = rejection(verifier, bearer(rs256_by_hand(entra_keys, claims_v2(entra_keys, **changes))))

    assert problem.reason is reason
    assert says in problem.detail


def test_a_token_of_another_tenant_with_its_own_issuer_is_wrong_tenant(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys
) -> None:
    # Entra's keys are shared across tenants today, so another tenant's token verifies: tid refuses it.
    claims = claims_v2(entra_keys, tid=OTHER_TENANT, iss=f"{entra_keys.authority_host}/{OTHER_TENANT}/v2.0")

    assert rejection(verifier, bearer(entra_keys.sign(claims))).reason is Rejection.WRONG_TENANT


def test_a_v2_audience_is_refused_when_only_the_v1_form_is_configured(
    make_verifier: VerifierFactory, entra_keys: FakeEntraKeys
) -> None:
    verifier = make_verifier(audience=APP_ID_URI)

    verifier.verify(bearer(entra_keys.sign(claims_v1(entra_keys))))
    assert rejection(verifier, bearer(entra_keys.sign(claims_v2(entra_keys)))).reason is Rejection.WRONG_AUDIENCE


def test_a_token_without_kid_is_malformed(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    private_key = entra_keys.signing_key.private_key
    token = handmade_token(
        {"alg": "RS256", "typ": "JWT"},
        claims_v2(entra_keys),
        lambda signing_input: private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()),
    )

    assert rejection(verifier, bearer(token)).reason is Rejection.MALFORMED


# --- signatures and algorithms ----------------------------------------------------------------


def test_a_token_signed_by_another_key_under_a_published_kid_has_a_bad_signature(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys
) -> None:
    forger_key = entra_keys.new_key(publish=False)
    token = entra_keys.sign(claims_v2(entra_keys), key=forger_key, headers={"kid": entra_keys.signing_key.kid})

    problem = rejection(verifier, bearer(token))

    assert problem.reason is Rejection.BAD_SIGNATURE
    assert "signature" in problem.detail


def test_a_changed_claim_breaks_the_signature(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    header, _, signature = entra_keys.sign(claims_v2(entra_keys, roles=["Reader"])).split(".")
    forged_claims = b64url(json.dumps(claims_v2(entra_keys)).encode())

    assert rejection(verifier, bearer(f"{header}.{forged_claims}.{signature}")).reason is Rejection.BAD_SIGNATURE


def test_hs256_signed_with_the_published_public_key_is_refused(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys
) -> None:
    # Algorithm confusion: the public key, which anyone can download, used as an HMAC secret.
    public_pem = entra_keys.signing_key.public_pem
    token = handmade_token(
        {"alg": "HS256", "typ": "JWT", "kid": entra_keys.signing_key.kid},
        claims_v2(entra_keys),
        lambda signing_input: hmac.new(public_pem, signing_input, hashlib.sha256).digest(),
    )

    problem = rejection(verifier, bearer(token))

    assert problem.reason is Rejection.ALGORITHM
    assert "RS256" in problem.detail
    assert entra_keys.key_request_count == 0  # refused on the header alone


@pytest.mark.parametrize("algorithm", ["none", "None", "RS512", "PS256", "ES256", ""])
def test_other_algorithms_are_refused(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, algorithm: str
) -> None:
    token = handmade_token(
        {"alg": algorithm, "typ": "JWT", "kid": entra_keys.signing_key.kid}, claims_v2(entra_keys), lambda _: b""
    )

    assert rejection(verifier, bearer(token)).reason is Rejection.ALGORITHM


# --- key rollover and refetch limits ----------------------------------------------------------


def test_a_rotated_key_is_fetched_once_then_accepted(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))
    new_key = entra_keys.rotate()
    clock.advance(301)  # past the 5-minute floor between refetches
    token = entra_keys.sign(claims_v2(entra_keys, exp=clock.now + 3600), key=new_key)

    verifier.verify(bearer(token))
    verifier.verify(bearer(token))

    assert entra_keys.key_request_count == 2


def test_an_unknown_kid_is_not_refetched_within_five_minutes_of_a_fetch(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))
    new_key = entra_keys.rotate()
    clock.advance(299)
    token = entra_keys.sign(claims_v2(entra_keys, exp=clock.now + 3600), key=new_key)

    problem = rejection(verifier, bearer(token))

    assert problem.reason is Rejection.UNKNOWN_KEY
    assert "does not publish" in problem.detail
    assert entra_keys.key_request_count == 1


def test_forged_kids_cause_at_most_one_fetch_per_five_minutes(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    forger_key = entra_keys.new_key(publish=False)

    def forged_token(number: int) -> str:
        claims = claims_v2(entra_keys, exp=clock.now + 3600)
        return entra_keys.sign(claims, key=forger_key, headers={"kid": f"forged-{number}"})

    for round_number in range(3):
        for number in range(40):
            assert rejection(verifier, bearer(forged_token(number))).reason is Rejection.UNKNOWN_KEY
        assert entra_keys.key_request_count == round_number + 1
        clock.advance(300)


def test_withdrawn_keys_stop_verifying_after_the_hourly_refresh(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    old_key = entra_keys.signing_key
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))
    entra_keys.rotate(retire_others=True)
    clock.advance(3600)
    token = entra_keys.sign(claims_v2(entra_keys, exp=clock.now + 3600), key=old_key)

    assert rejection(verifier, bearer(token)).reason is Rejection.UNKNOWN_KEY
    assert entra_keys.key_request_count == 2


# --- the key endpoint failing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        {"status": 500, "json": {"error": "server_error"}},
        {"status": 503, "headers": {"Retry-After": "30"}},
        {"status": 400, "json": {"error": "invalid_tenant"}},
        {"status": 200, "json": {"keys": []}},
        {"status": 200, "json": {"keys": [{"kty": "EC", "use": "sig", "kid": "ec", "crv": "P-256"}]}},
        {"status": 200, "json": ["not", "a", "key", "set"]},
        {"status": 200, "close_without_answer": True},
    ],
    ids=["500", "503", "400", "no-keys", "no-rsa-keys", "not-a-key-set", "connection-dropped"],
)
def test_keys_unavailable_is_a_503_with_retry_after(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, script: dict[str, Any]
) -> None:
    entra_keys.enqueue(**script)

    with pytest.raises(SigningKeysUnavailable) as caught:
        verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))

    problem = caught.value
    assert (problem.status, problem.code) == (503, "signing_keys_unavailable")
    assert problem.headers["Retry-After"] == "10"
    assert not isinstance(problem, EntraTokenRejected)


def test_a_non_json_answer_is_keys_unavailable(make_verifier: VerifierFactory, entra_keys: FakeEntraKeys) -> None:
    verifier = make_verifier()
    entra_keys.enqueue(200, headers={"Content-Type": "text/html"})  # empty body

    with pytest.raises(SigningKeysUnavailable):
        verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))


def test_a_slow_key_endpoint_times_out_into_a_503(make_verifier: VerifierFactory, entra_keys: FakeEntraKeys) -> None:
    verifier = make_verifier(fetch_timeout_s=0.2)
    entra_keys.enqueue(200, json={"keys": []}, delay_s=2)

    with pytest.raises(SigningKeysUnavailable):
        verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))


def test_after_a_failed_fetch_requests_wait_for_the_retry_instead_of_hammering(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    token = bearer(entra_keys.sign(claims_v2(entra_keys, exp=NOW + 3600)))
    entra_keys.enqueue(500)
    with pytest.raises(SigningKeysUnavailable):
        verifier.verify(token)

    clock.advance(4)
    for _ in range(20):
        with pytest.raises(SigningKeysUnavailable) as caught:
            verifier.verify(token)
    assert caught.value.headers["Retry-After"] == "6"
    assert entra_keys.key_request_count == 1

    clock.advance(6)
    verifier.verify(token)  # the retry succeeds
    assert entra_keys.key_request_count == 2


def test_the_last_good_keys_serve_for_a_day_when_refreshes_fail(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))
    clock.advance(3600)  # the hourly refresh is due, and Entra is down from now on
    for _ in range(50):
        entra_keys.enqueue(503)

    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys, exp=clock.now + 60))))
    assert entra_keys.key_request_count == 2
    # A kid we do not know while Entra is down may be a genuine new key: retry later, not 401.
    unknown = entra_keys.sign(claims_v2(entra_keys, exp=clock.now + 60), key=entra_keys.new_key(publish=False))
    with pytest.raises(SigningKeysUnavailable):
        verifier.verify(bearer(unknown))

    clock.advance(24 * 3600 - 3600)  # the cached keys are a day old now
    with pytest.raises(SigningKeysUnavailable):
        verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys, exp=clock.now + 60))))


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_requests_on_a_cold_cache_fetch_the_keys_once(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys
) -> None:
    published = [key.jwk(entra_keys.v2_issuer) for key in entra_keys.published_keys]
    entra_keys.enqueue(200, json={"keys": published}, delay_s=0.2)  # every thread arrives while it is slow
    token = bearer(entra_keys.sign(claims_v2(entra_keys)))
    start = threading.Barrier(16)

    def verify() -> None:
        start.wait()
        verifier.verify(token)

    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(verify) for _ in range(16)]:
            future.result()

    assert entra_keys.key_request_count == 1


# --- what the caller sees, and what never leaks -----------------------------------------------


def test_www_authenticate_names_the_error_except_when_no_token_was_sent(
    verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys
) -> None:
    missing = rejection(verifier, None)
    expired = rejection(verifier, bearer(entra_keys.sign(claims_v2(entra_keys, exp=NOW - 3600))))

    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="mailhook"'
    assert expired.headers["WWW-Authenticate"] == (
        'Bearer realm="mailhook", error="invalid_token", error_description="The token has expired."'
    )
    document = expired.to_document("request-1")
    assert document["status"] == 401
    assert document["code"] == "token_invalid"
    assert document["detail"] == "The token has expired."


def test_every_description_fits_in_www_authenticate() -> None:
    for reason in Rejection:
        challenge = EntraTokenRejected(reason).headers["WWW-Authenticate"]
        description = challenge.partition('error_description="')[2].removesuffix('"')
        assert '"' not in description
        assert "\\" not in description
        assert all(" " <= c <= "~" for c in challenge)


def test_the_token_never_appears_in_problems_or_logs(
    caplog: pytest.LogCaptureFixture, verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys, clock: Clock
) -> None:
    caplog.set_level(logging.DEBUG)
    forger_key = entra_keys.new_key(publish=False)
    tokens = [
        entra_keys.sign(claims_v2(entra_keys)),  # accepted
        entra_keys.sign(claims_v2(entra_keys, exp=NOW - 3600)),
        entra_keys.sign(claims_v2(entra_keys, aud="https://graph.microsoft.com")),
        entra_keys.sign(claims_v2(entra_keys, roles=[])),
        entra_keys.sign(claims_v2(entra_keys, tid=OTHER_TENANT)),
        entra_keys.sign(claims_v2(entra_keys), key=forger_key),
        entra_keys.sign(claims_v2(entra_keys), key=forger_key, headers={"kid": entra_keys.signing_key.kid}),
        entra_keys.sign(claims_v2(entra_keys))[:-5],
    ]
    long_lived = entra_keys.sign(claims_v2(entra_keys, exp=NOW + 7200))
    tokens.append(long_lived)
    problems: list[Any] = []
    for token in tokens:
        try:
            verifier.verify(bearer(token))
        except (EntraTokenRejected, SigningKeysUnavailable) as problem:
            problems.append(problem)
    clock.advance(3600)
    entra_keys.enqueue(500, json={"error": "server_error"})
    try:
        verifier.verify(bearer(long_lived))  # the last good keys still serve
        verifier.verify(bearer(tokens[5]))  # 503 while the refresh fails
    except SigningKeysUnavailable as problem:
        problems.append(problem)

    assert len(problems) == 8
    # What a caller gets, and what a log line with exc_info=True would print.
    answers = [
        json.dumps(p.to_document("request-1")) + json.dumps(p.headers) + "".join(traceback.format_exception(p))
        for p in problems
    ]
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "Entra ID signing key" in caplog.text  # it did log, at INFO and WARNING
    for token in tokens:
        for part in [token, *token.split(".")]:
            for output in [*answers, logged]:
                assert part not in output


# --- construction -----------------------------------------------------------------------------


def test_the_tenant_must_be_a_guid(make_verifier: VerifierFactory) -> None:
    with pytest.raises(ValueError, match="GUID"):
        make_verifier(tenant_id="contoso.onmicrosoft.com")


@pytest.mark.parametrize("audience", ["", "  ", []])
def test_an_audience_is_required(make_verifier: VerifierFactory, audience: Any) -> None:
    with pytest.raises(ValueError, match="audience"):
        make_verifier(audience=audience)


def test_the_default_role_is_the_one_the_action_group_doc_assigns() -> None:
    assert ACTION_GROUPS_ROLE == "ActionGroupsSecureWebhook"


@pytest.mark.parametrize(
    ("authority_host", "issuers"),
    [
        (
            "https://login.microsoftonline.com",
            {f"https://sts.windows.net/{TENANT}/", f"https://login.microsoftonline.com/{TENANT}/v2.0"},
        ),
        (
            "https://login.microsoftonline.us/",
            {f"https://sts.windows.net/{TENANT}/", f"https://login.microsoftonline.us/{TENANT}/v2.0"},
        ),
        (
            "https://login.chinacloudapi.cn",
            {f"https://sts.chinacloudapi.cn/{TENANT}/", f"https://login.partner.microsoftonline.cn/{TENANT}/v2.0"},
        ),
        (
            "https://login.partner.microsoftonline.cn",
            {f"https://sts.chinacloudapi.cn/{TENANT}/", f"https://login.partner.microsoftonline.cn/{TENANT}/v2.0"},
        ),
        ("https://127.0.0.1:8443", {f"https://127.0.0.1:8443/{TENANT}/", f"https://127.0.0.1:8443/{TENANT}/v2.0"}),
    ],
    ids=["global", "usgov", "china", "china-partner-host", "unknown-host"],
)
def test_issuers_per_cloud(authority_host: str, issuers: set[str]) -> None:
    assert entra_issuers(authority_host, TENANT.upper()) == issuers


def test_keys_are_fetched_from_the_national_cloud_authority(
    make_verifier: VerifierFactory, entra_keys: FakeEntraKeys
) -> None:
    verifier = make_verifier(authority_host="https://login.microsoftonline.us/")

    assert verifier.keys_url == f"https://login.microsoftonline.us/{TENANT}/discovery/v2.0/keys"
    assert verifier.issuers == {f"https://sts.windows.net/{TENANT}/", f"https://login.microsoftonline.us/{TENANT}/v2.0"}


def test_unusable_keys_in_the_set_are_skipped(verifier: EntraWebhookVerifier, entra_keys: FakeEntraKeys) -> None:
    good = entra_keys.signing_key.jwk(entra_keys.v2_issuer)
    entra_keys.enqueue(
        200,
        json={
            "keys": [
                {"kty": "RSA", "use": "sig", "kid": "broken", "n": "!!", "e": "AQAB"},
                {"kty": "RSA", "use": "enc", "kid": "encryption", "n": good["n"], "e": good["e"]},
                {"kty": "oct", "kid": "symmetric", "k": b64url(b"secret")},
                "not-a-key",
                good,
            ]
        },
    )

    verifier.verify(bearer(entra_keys.sign(claims_v2(entra_keys))))  # does not raise
