"""Abuse limits answer 429 with Retry-After before any Graph call."""

from __future__ import annotations

import pytest

from shared.delivery.limits import RateLimited, RateLimiter, caller_of
from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import hook_request, mail_request, response_json

SIMPLE = {"to": "ops@contoso.com", "subject": "x"}


def test_the_caller_is_its_function_key_else_its_address() -> None:
    assert caller_of({"x-functions-key": "k1"}, {}) == caller_of({}, {"code": "k1"})
    assert caller_of({"x-functions-key": "k1"}, {}) != caller_of({"x-functions-key": "k2"}, {})
    assert "k1" not in caller_of({"x-functions-key": "k1"}, {}), "the key itself is never kept"
    assert caller_of({"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, {}) == "ip:203.0.113.7"
    assert caller_of({}, {}) == "anonymous"


def test_burst_then_refill() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    for _ in range(3):
        limiter.take("a")
    with pytest.raises(RateLimited) as caught:
        limiter.take("a")
    assert caught.value.headers["Retry-After"] == "1"
    limiter.take("b")  # callers do not share a bucket


def test_rate_limit_answers_429_before_graph(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = mi_runtime(
        MAIL_RATE_LIMIT_PER_MINUTE="6", MAIL_RATE_LIMIT_BURST="2", MAIL_DEFAULT_TO="oncall@contoso.com"
    )
    key = {"x-functions-key": "alertmanager-key"}
    answers = [handle_mail(mail_request(SIMPLE, headers=key), runtime) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert response_json(answers[2])["code"] == "rate_limited"
    assert answers[2].headers["Retry-After"] == "10"
    assert len(graph.requests) == 2
    slack = hook_request("slack", {"text": "hi"}, headers=key)
    assert handle_hook(slack, runtime).status_code == 429, "one bucket per caller across endpoints"
    other = hook_request("slack", {"text": "hi"}, headers={"x-functions-key": "grafana-key"})
    assert handle_hook(other, runtime).status_code == 202


def test_daily_recipient_budget(mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity) -> None:
    runtime = mi_runtime(MAIL_DAILY_RECIPIENT_BUDGET="5")
    three = {"to": ["a@contoso.com", "b@contoso.com", "c@contoso.com"], "subject": "x"}
    assert handle_mail(mail_request(three), runtime).status_code == 202
    refused = handle_mail(mail_request(three), runtime)
    assert (refused.status_code, response_json(refused)["code"]) == (429, "recipient_budget_exhausted")
    # The budget counts in 10-minute buckets, each until 24 hours after its end: at most 10 min extra.
    assert 86400 < int(refused.headers["Retry-After"]) <= 87000
    assert (
        handle_mail(mail_request({"to": ["a@contoso.com", "b@contoso.com"], "subject": "x"}), runtime).status_code
        == 202
    )
    assert len(graph.sent) == 2
