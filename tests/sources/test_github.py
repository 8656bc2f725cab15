"""GitHub deliveries built from the documented payload shapes ("Webhook events and payloads").

The fixtures in tests/data/github are named ``<X-GitHub-Event>.<what>.json``; GitHub sends the
event name in a header, never in the body.
"""

from __future__ import annotations

import copy
import json
import urllib.parse
import uuid
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.mail.compose import route_verdict
from shared.settings.routes import Route
from shared.sources.base import HookRequest, InvalidHookPayload, Skip
from shared.sources.github import to_notification
from shared.sources.notification import Link, Notification, Severity, Status
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, response_json

FIXTURES = DATA / "github"
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
REPO = "contoso/webshop"
SHA = "9f2c1e4b7a0d3c5e8f1a2b3c4d5e6f708192a3b4"
COMMIT = Link("Commit 9f2c1e4", f"https://github.com/{REPO}/commit/{SHA}")
PULL_REQUEST = Link("Pull request #412", f"https://github.com/{REPO}/pull/412")


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return document


def event_of(name: str) -> str:
    return name.split(".", 1)[0]


def adapt(
    payload: Any, event: str | None, *, events: list[str] | None = None, delivery: str | None = DELIVERY
) -> Notification | Skip:
    headers = {"X-GitHub-Event": event} if event is not None else {}
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    outcome = to_notification(HookRequest(source="github", payload=payload, headers=headers))
    if isinstance(outcome, Skip):
        return outcome
    # The route's events are applied where every route setting is, for every source.
    route = Route.model_validate({"events": events} if events is not None else {})
    return route_verdict(outcome, route, "test") or outcome


def mailed(name: str, *, events: list[str] | None = None, **changes: Any) -> Notification:
    payload = fixture(name)
    _apply(payload, changes)
    outcome = adapt(payload, event_of(name), events=events)
    assert isinstance(outcome, Notification), outcome
    return outcome


def skipped(name: str, *, events: list[str] | None = None, **changes: Any) -> Skip:
    payload = fixture(name)
    _apply(payload, changes)
    outcome = adapt(payload, event_of(name), events=events)
    assert isinstance(outcome, Skip), outcome
    return outcome


def _apply(payload: dict[str, Any], changes: dict[str, Any]) -> None:
    """``workflow_run__conclusion="cancelled"`` sets payload["workflow_run"]["conclusion"]."""
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = payload
        for key in parents:
            target = target[key]
        target[leaf] = value


# --- What is mailed by default ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "status", "severity"),
    [
        ("workflow_run.completed.failure", f"[failure] CI on main — {REPO}", Status.FIRING, Severity.ERROR),
        ("workflow_job.completed.failure", f"[failure] CI / build on main — {REPO}", Status.FIRING, Severity.ERROR),
        (
            "check_suite.completed.timed_out",
            f"[timed out] GitHub Actions checks on fix-vat — {REPO}",
            Status.FIRING,
            Severity.ERROR,
        ),
        ("check_run.completed.failure", f"[failure] lint on fix-vat — {REPO}", Status.FIRING, Severity.ERROR),
        (
            "deployment_status.failure",
            f"[failure] deployment of main to production — {REPO}",
            Status.FIRING,
            Severity.ERROR,
        ),
        ("release.published", f"[release] Spring sale (v2.4.0) — {REPO}", Status.INFO, Severity.INFO),
    ],
)
def test_mailed_by_default(name: str, title: str, status: Status, severity: Severity) -> None:
    notification = mailed(name)
    assert (notification.title, notification.status, notification.severity) == (title, status, severity)
    assert notification.source == "github"
    assert notification.event == event_of(name)
    assert notification.dedup_key == f"github:{DELIVERY}"
    assert notification.facts[0] == ("Repository", REPO)


@pytest.mark.parametrize(
    ("conclusion", "label", "severity"),
    [
        ("failure", "failure", Severity.ERROR),
        ("timed_out", "timed out", Severity.ERROR),
        ("startup_failure", "startup failure", Severity.ERROR),
        ("cancelled", "cancelled", Severity.WARNING),
    ],
)
@pytest.mark.parametrize("name", ["workflow_run.completed.failure", "workflow_job.completed.failure"])
def test_every_failing_conclusion_fires(name: str, conclusion: str, label: str, severity: Severity) -> None:
    key = event_of(name)
    changes: dict[str, Any] = {f"{key}__conclusion": conclusion}
    notification = mailed(name, **changes)
    assert notification.title.startswith(f"[{label}] CI")
    assert (notification.status, notification.severity) == (Status.FIRING, severity)
    assert ("Conclusion", conclusion) in notification.facts


def test_workflow_run_failure_says_what_who_when_and_where_to_look() -> None:
    notification = mailed("workflow_run.completed.failure")
    assert notification.summary == "Fix rounding of VAT in the basket"
    assert notification.description == "Run #1287 of CI failed after 6 min 21 s. Triggered by push from mona."
    assert notification.facts == [
        ("Repository", REPO),
        ("Workflow", "CI"),
        ("Branch", "main"),
        ("Commit", "9f2c1e4"),
        ("Actor", "mona"),
        ("Trigger", "push"),
        ("Run", "#1287, attempt 2"),
        ("Conclusion", "failure"),
        ("Duration", "6 min 21 s"),
    ]
    assert notification.links == [Link("View run", f"https://github.com/{REPO}/actions/runs/9104411221"), COMMIT]
    assert notification.alerts == []


def test_workflow_run_without_display_title_uses_the_commit_message_first_line() -> None:
    notification = mailed("workflow_run.completed.failure", workflow_run__display_title=None)
    assert notification.summary == "Fix rounding of VAT in the basket"
    # An unnamed run (older payloads send "name": "") takes the workflow's name.
    assert mailed("workflow_run.completed.failure", workflow_run__name="").title.startswith("[failure] CI on main")


def test_workflow_run_of_a_pull_request_links_it() -> None:
    pull_requests = [{"number": 412, "url": "https://api.github.com/repos/contoso/webshop/pulls/412"}]
    notification = mailed("workflow_run.completed.failure", workflow_run__pull_requests=pull_requests)
    assert PULL_REQUEST in notification.links
    assert ("Pull requests", "#412") in notification.facts


def test_workflow_job_failure_names_the_failed_step() -> None:
    notification = mailed("workflow_job.completed.failure")
    assert notification.summary == "Failed step: Run pytest"
    assert notification.description == "Job build failed after 3 min 22 s on runner GitHub Actions 12."
    assert notification.links == [
        Link("View job", f"https://github.com/{REPO}/actions/runs/9104411221/job/25012345678"),
        Link("View run", f"https://github.com/{REPO}/actions/runs/9104411221"),
        COMMIT,
    ]
    assert ("Run attempt", "2") in notification.facts
    assert ("Labels", "ubuntu-latest") in notification.facts


def test_check_suite_and_check_run_failures() -> None:
    suite = mailed("check_suite.completed.timed_out")
    assert suite.summary == "Fix rounding of VAT in the basket"
    assert suite.links == [COMMIT, PULL_REQUEST]
    assert ("Check runs", "3") in suite.facts

    check = mailed("check_run.completed.failure")
    assert (check.summary, check.description) == (
        "3 lint errors",
        "ruff found 3 errors in 2 files.\nRun `ruff check --fix` locally.",
    )
    assert check.links == [
        Link("View check", f"https://github.com/{REPO}/runs/25012345999"),
        Link("Details", "https://ci.contoso.com/builds/77120"),
        COMMIT,
        PULL_REQUEST,
    ]
    assert ("App", "Contoso CI") in check.facts
    assert ("Duration", "47 s") in check.facts


def test_deployment_failure_links_the_log_environment_and_run() -> None:
    notification = mailed("deployment_status.failure")
    assert notification.summary == "Health check failed after rollout"
    assert notification.description == "Deployment of main (9f2c1e4) to production by github-actions[bot] failed."
    assert notification.links == [
        Link("Deployment log", f"https://github.com/{REPO}/actions/runs/9104411221/job/25012348888"),
        Link("Environment", "https://shop.contoso.com"),
        Link("Workflow run", f"https://github.com/{REPO}/actions/runs/9104411221"),
        COMMIT,
    ]
    # Senders that only set the deprecated target_url still get a log link.
    legacy = mailed("deployment_status.failure", deployment_status__log_url=None, deployment_status__state="error")
    assert legacy.links[0] == Link("Deployment log", f"https://github.com/{REPO}/actions/runs/9104411221")
    assert (legacy.title, legacy.status) == (f"[error] deployment of main to production — {REPO}", Status.FIRING)


def test_release_published() -> None:
    notification = mailed("release.published")
    assert notification.summary == "Spring sale was published by mona."
    assert notification.description is not None and notification.description.startswith("## What's changed")
    assert notification.links == [Link("Release notes", f"https://github.com/{REPO}/releases/tag/v2.4.0")]
    assert ("Tag", "v2.4.0") in notification.facts
    assert ("Published", "2024-05-14 11:02:31 UTC") in notification.facts
    prerelease = mailed("release.published", release__prerelease=True, release__name="v2.4.0")
    assert prerelease.title == f"[pre-release] v2.4.0 — {REPO}"


def test_long_release_notes_are_cut() -> None:
    notification = mailed("release.published", release__body="x" * 10_000)
    assert notification.description is not None and len(notification.description) == 3000
    assert notification.description.endswith("…")


# --- What is not mailed by default -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "changes", "reason_parts"),
    [
        (
            "workflow_run.completed.success",
            {},
            ["workflow_run completed with conclusion 'success'", "'workflow_run.completed'"],
        ),
        (
            "workflow_run.completed.failure",
            {"action": "requested", "workflow_run__status": "queued", "workflow_run__conclusion": None},
            ["workflow_run requested is not mailed", "'workflow_run.requested'"],
        ),
        (
            "workflow_job.completed.failure",
            {"action": "in_progress", "workflow_job__conclusion": None},
            ["workflow_job in_progress"],
        ),
        ("check_run.completed.failure", {"check_run__conclusion": "success"}, ["conclusion 'success'"]),
        ("check_suite.completed.timed_out", {"check_suite__conclusion": "action_required"}, ["'action_required'"]),
        ("check_suite.completed.timed_out", {"check_suite__conclusion": "neutral"}, ["'neutral'"]),
        (
            "deployment_status.failure",
            {"deployment_status__state": "success"},
            ["deployment_status created with state 'success'", "failure or error"],
        ),
        ("release.published", {"action": "created"}, ["release created is not mailed", "'release.created'"]),
        ("push", {}, ["push is not mailed by default", "list 'push'"]),
        ("pull_request.opened", {}, ["pull_request opened is not mailed by default"]),
    ],
)
def test_not_mailed_by_default(name: str, changes: dict[str, Any], reason_parts: list[str]) -> None:
    skip = skipped(name, **changes)
    assert (skip.status, skip.http_status) == ("ignored", 202)
    for part in reason_parts:
        assert part in skip.reason


def test_ping_pongs_whatever_the_route_wants() -> None:
    assert adapt(fixture("ping"), "ping") == Skip("ping", status="pong", http_status=200)
    assert adapt(fixture("ping"), "ping", events=["push"]) == Skip("ping", status="pong", http_status=200)


@pytest.mark.parametrize("event", [None, "", "   "])
def test_the_event_header_is_required(event: str | None) -> None:
    with pytest.raises(InvalidHookPayload) as raised:
        adapt(fixture("workflow_run.completed.failure"), event)
    assert "X-GitHub-Event" in raised.value.detail
    assert raised.value.errors[0].field == "X-GitHub-Event"


def test_the_payload_must_be_an_object() -> None:
    with pytest.raises(InvalidHookPayload):
        adapt([fixture("workflow_run.completed.failure")], "workflow_run")


def test_without_a_delivery_header_there_is_no_dedup_key() -> None:
    outcome = adapt(fixture("workflow_run.completed.failure"), "workflow_run", delivery=None)
    assert isinstance(outcome, Notification)
    assert outcome.dedup_key is None


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "completed", "workflow_run": {"conclusion": "failure"}},
        {"action": "completed", "workflow_run": {"conclusion": "failure", "head_commit": "?", "pull_requests": {}}},
        {
            "action": "completed",
            "workflow_run": {"conclusion": "failure", "run_started_at": "yesterday"},
            "repository": [],
        },
    ],
)
def test_sparse_and_odd_payloads_still_make_a_mail(payload: dict[str, Any]) -> None:
    outcome = adapt(payload, "workflow_run")
    assert isinstance(outcome, Notification)
    assert outcome.title == "[failure] workflow"
    assert outcome.links == []


def test_a_completed_run_without_conclusion_is_not_a_failure() -> None:
    assert isinstance(adapt({"action": "completed", "workflow_run": "?"}, "workflow_run"), Skip)


# --- A route's events ------------------------------------------------------------------------


def test_a_route_with_events_mails_only_those() -> None:
    events = ["workflow_run", "push"]
    assert mailed("workflow_run.completed.failure", events=events).status is Status.FIRING
    assert mailed("push", events=events).title == f"[push] 2 commits to main — {REPO}"
    for name in ("workflow_job.completed.failure", "release.published", "deployment_status.failure"):
        reason = skipped(name, events=events).reason
        assert "the route's events (workflow_run, push) do not include" in reason
        assert f"'{event_of(name)}'" in reason


def test_a_bare_event_name_keeps_the_failure_filter() -> None:
    assert "conclusion 'success'" in skipped("workflow_run.completed.success", events=["workflow_run"]).reason
    assert (
        "state 'success'"
        in skipped("deployment_status.failure", events=["deployment_status"], deployment_status__state="success").reason
    )
    assert "release created" in skipped("release.published", events=["release"], action="created").reason


def test_event_dot_action_mails_every_outcome() -> None:
    success = mailed("workflow_run.completed.success", events=["workflow_run.completed"])
    assert (success.title, success.status, success.severity) == (
        f"[success] CI on main — {REPO}",
        Status.INFO,
        Severity.INFO,
    )
    assert success.description == "Run #1288 of CI succeeded after 6 min 21 s. Triggered by push from mona."
    assert mailed("workflow_run.completed.failure", events=["workflow_run.completed"]).status is Status.FIRING
    assert (
        "'workflow_run.requested'"
        in skipped("workflow_run.completed.success", events=["workflow_run.completed"], action="requested").reason
    )

    deployed = mailed(
        "deployment_status.failure", events=["deployment_status.created"], deployment_status__state="success"
    )
    assert (deployed.title, deployed.status) == (f"[success] deployment of main to production — {REPO}", Status.INFO)
    assert deployed.description == "Deployment of main (9f2c1e4) to production by github-actions[bot] succeeded."

    draft = mailed("release.published", events=["release.created"], action="created")
    assert draft.title == f"[release created] Spring sale (v2.4.0) — {REPO}"


def test_event_names_in_routes_are_case_insensitive() -> None:
    assert isinstance(adapt(fixture("push"), "push", events=["Push"]), Notification)
    assert isinstance(adapt(fixture("push"), "Push", events=["push"]), Notification)


def test_push_lists_its_commits() -> None:
    notification = mailed("push", events=["push"])
    assert (notification.status, notification.severity, notification.event) == (Status.INFO, Severity.INFO, "push")
    assert notification.summary == "Fix rounding of VAT in the basket"
    assert notification.description == (
        "1e2d3c4 Add VAT test cases (Mona Lisa)\n9f2c1e4 Fix rounding of VAT in the basket (Mona Lisa)"
    )
    assert notification.links == [
        Link("Compare", f"https://github.com/{REPO}/compare/0a1b2c3d4e5f...9f2c1e4b7a0d"),
        Link("Head commit", f"https://github.com/{REPO}/commit/{SHA}"),
    ]
    assert ("Pusher", "mona") in notification.facts


@pytest.mark.parametrize(
    ("changes", "title"),
    [
        ({"ref": "refs/tags/v2.4.0", "created": True, "commits": []}, "[push] tag v2.4.0 created"),
        ({"ref": "refs/heads/old", "deleted": True, "commits": [], "head_commit": None}, "[push] branch old deleted"),
        ({"forced": True}, "[push] force-pushed 2 commits to main"),
    ],
)
def test_push_variants(changes: dict[str, Any], title: str) -> None:
    assert mailed("push", events=["push"], **changes).title == f"{title} — {REPO}"


def test_a_long_push_lists_the_first_commits() -> None:
    commits = [{"id": f"{n:040x}", "message": f"change {n}"} for n in range(13)]
    description = mailed("push", events=["push"], commits=commits).description or ""
    assert description.splitlines()[-1] == "… and 3 more"
    assert len(description.splitlines()) == 11


def test_any_other_event_gets_a_generic_mail() -> None:
    notification = mailed("pull_request.opened", events=["pull_request"])
    assert notification.title == f"[pull request opened] #412 Fix rounding of VAT in the basket — {REPO}"
    assert (notification.status, notification.severity, notification.event) == (
        Status.INFO,
        Severity.INFO,
        "pull_request",
    )
    assert notification.summary == "mona opened pull request #412 Fix rounding of VAT in the basket."
    assert notification.description == "The total was off by one cent for some carts.\n\nFixes #399."
    assert notification.links == [Link("View on GitHub", f"https://github.com/{REPO}/pull/412")]
    assert notification.facts == [
        ("Repository", REPO),
        ("Event", "pull_request"),
        ("Action", "opened"),
        ("Sender", "mona"),
        ("Author", "mona"),
        ("State", "open"),
    ]
    assert (
        "pull_request closed" in skipped("pull_request.opened", events=["pull_request.opened"], action="closed").reason
    )


def test_a_comment_links_the_comment() -> None:
    payload = {
        "action": "created",
        "issue": {"number": 399, "title": "Wrong VAT", "html_url": f"https://github.com/{REPO}/issues/399"},
        "comment": {"body": "Still wrong on 2.3.9", "html_url": f"https://github.com/{REPO}/issues/399#c1"},
        "repository": fixture("push")["repository"],
        "sender": {"login": "octocat"},
    }
    outcome = adapt(payload, "issue_comment", events=["issue_comment"])
    assert isinstance(outcome, Notification)
    assert outcome.title == f"[issue comment created] #399 Wrong VAT — {REPO}"
    assert outcome.description == "Still wrong on 2.3.9"
    assert outcome.links[0] == Link("View comment", f"https://github.com/{REPO}/issues/399#c1")


def test_an_event_without_repository_or_subject() -> None:
    outcome = adapt({"action": "created", "sender": {"login": "octocat"}}, "star", events=["star"])
    assert isinstance(outcome, Notification)
    assert outcome.title == "[star created] by octocat"
    assert outcome.facts == [("Event", "star"), ("Action", "created"), ("Sender", "octocat")]


# --- Through POST /api/hooks/github ----------------------------------------------------------

ROUTES = {"ci": {"to": "ci@contoso.com", "events": ["push", "workflow_run.completed"]}}


@pytest.fixture
def settings() -> dict[str, str]:
    return {"MAIL_DEFAULT_TO": "oncall@contoso.com", "MAIL_ROUTES": json.dumps(ROUTES)}


def github_headers(event: str, **extra: str) -> dict[str, str]:
    """Headers of a new delivery: GitHub gives each one its own GUID (a redelivery keeps it)."""
    delivery = str(uuid.uuid4())
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "User-Agent": "GitHub-Hookshot/5c1d0a3", **extra}


def form_body(payload: Any) -> str:
    """What GitHub sends for a hook with content type application/x-www-form-urlencoded."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def test_form_encoded_delivery_is_mailed(
    mi_runtime: RuntimeFactory, graph: FakeGraph, settings: dict[str, str]
) -> None:
    request = hook_request(
        "github",
        form_body(fixture("workflow_run.completed.failure")),
        content_type="application/x-www-form-urlencoded",
        headers=github_headers("workflow_run"),
    )
    response = handle_hook(request, mi_runtime(**settings))
    assert response.status_code == 202, response.get_body()
    assert response_json(response)["status"] == "accepted"
    [sent] = graph.sent
    message = sent.message
    assert message["subject"] == f"[failure] CI on main — {REPO}"
    assert message["toRecipients"] == [{"emailAddress": {"address": "oncall@contoso.com"}}]
    assert {h["name"]: h["value"] for h in message["internetMessageHeaders"]}["X-Mailhook-Status"] == "firing"
    assert f'href="https://github.com/{REPO}/actions/runs/9104411221"' in message["body"]["content"]


def test_json_delivery_with_lower_case_header_names(
    mi_runtime: RuntimeFactory, graph: FakeGraph, settings: dict[str, str]
) -> None:
    headers = {"x-github-event": "check_run", "x-github-delivery": DELIVERY}
    request = hook_request("github", fixture("check_run.completed.failure"), headers=headers)
    assert handle_hook(request, mi_runtime(**settings)).status_code == 202
    assert graph.sent[0].message["subject"] == f"[failure] lint on fix-vat — {REPO}"


def test_route_events_through_the_endpoint(
    mi_runtime: RuntimeFactory, graph: FakeGraph, settings: dict[str, str]
) -> None:
    runtime = mi_runtime(**settings)
    push = handle_hook(hook_request("github", fixture("push"), route="ci", headers=github_headers("push")), runtime)
    assert push.status_code == 202
    success = hook_request(
        "github", fixture("workflow_run.completed.success"), route="ci", headers=github_headers("workflow_run")
    )
    assert handle_hook(success, runtime).status_code == 202
    release = handle_hook(
        hook_request("github", fixture("release.published"), route="ci", headers=github_headers("release")), runtime
    )
    assert release.status_code == 202
    assert response_json(release)["status"] == "ignored"
    assert "route's events" in response_json(release)["reason"]
    assert [s.message["subject"] for s in graph.sent] == [
        f"[push] 2 commits to main — {REPO}",
        f"[success] CI on main — {REPO}",
    ]
    assert {s.message["toRecipients"][0]["emailAddress"]["address"] for s in graph.sent} == {"ci@contoso.com"}


def test_ping_and_ignored_events_send_nothing(
    mi_runtime: RuntimeFactory, graph: FakeGraph, settings: dict[str, str]
) -> None:
    runtime = mi_runtime(**settings)
    ping = handle_hook(hook_request("github", fixture("ping"), headers=github_headers("ping")), runtime)
    assert (ping.status_code, response_json(ping)["status"]) == (200, "pong")
    ignored = handle_hook(
        hook_request("github", fixture("workflow_run.completed.success"), headers=github_headers("workflow_run")),
        runtime,
    )
    assert (ignored.status_code, response_json(ignored)["status"]) == (202, "ignored")
    assert "conclusion 'success'" in response_json(ignored)["reason"]
    assert graph.requests == []


def test_a_delivery_without_event_header_is_a_problem(
    mi_runtime: RuntimeFactory, graph: FakeGraph, settings: dict[str, str]
) -> None:
    response = handle_hook(hook_request("github", fixture("push")), mi_runtime(**settings))
    assert response.status_code == 400
    assert response_json(response)["code"] == "invalid_payload"
    assert "X-GitHub-Event" in response_json(response)["detail"]
    assert graph.requests == []


def test_script_in_a_commit_message_arrives_escaped(
    mi_runtime: RuntimeFactory, graph: FakeGraph, settings: dict[str, str]
) -> None:
    payload = copy.deepcopy(fixture("workflow_run.completed.failure"))
    payload["workflow_run"]["display_title"] = "<script>alert('x')</script> & more"
    payload["workflow_run"]["name"] = "<b>CI</b>"
    request = hook_request("github", form_body(payload), content_type="application/x-www-form-urlencoded",
                           headers=github_headers("workflow_run"))  # fmt: skip
    assert handle_hook(request, mi_runtime(**settings)).status_code == 202
    message = graph.sent[0].message
    html = message["body"]["content"]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in html
    assert "&lt;b&gt;CI&lt;/b&gt; on main" in html
    assert "<script" not in html and "<b>" not in html
    assert message["subject"] == f"[failure] <b>CI</b> on main — {REPO}"  # a subject is plain text


def test_fixtures_are_named_after_their_event() -> None:
    """Every fixture is named after its X-GitHub-Event; a typo would silently test nothing."""
    names = sorted(path.name for path in FIXTURES.glob("*.json"))
    assert {event_of(name) for name in names} == {
        "workflow_run", "workflow_job", "check_suite", "check_run", "deployment_status", "release", "ping", "push",
        "pull_request",
    }  # fmt: skip
