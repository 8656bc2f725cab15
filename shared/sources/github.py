"""GitHub webhook deliveries: failed Actions runs and checks, failed deployments, releases, and any
other event a route asks for.

GitHub names the event in the ``X-GitHub-Event`` header, not in the body, and gives every delivery
a GUID in ``X-GitHub-Delivery`` that a redelivery keeps, so it is our dedup key. Headers and
payload shapes: GitHub Docs, "Webhook events and payloads"
(https://docs.github.com/en/webhooks/webhook-events-and-payloads). The body may come as JSON or as
a form's ``payload=`` field; intake has parsed it before ``read`` sees it, and ``verify`` has
checked ``X-Hub-Signature-256`` over the raw body (GitHub Docs, "Validating webhook deliveries",
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

What is mailed without ``events`` on the route (what an on-call engineer wants to hear about):

- ``workflow_run``, ``workflow_job``, ``check_suite``, ``check_run``: action ``completed`` with a
  failing conclusion: ``failure``, ``timed_out``, ``startup_failure`` (severity error) or
  ``cancelled`` (warning).
- ``deployment_status``: state ``failure`` or ``error``.
- ``release``: action ``published`` (sent for releases and pre-releases, never for drafts).
- ``ping`` (sent once when the hook is created) answers 200 ``{"status": "pong"}``, no mail.

Everything else answers 202 ``{"status": "ignored"}`` with a reason naming the event, its action
and its conclusion or state, and how to ask for it.

This module only states those facts (``Notification.event_facts``: the event, its action, and why
the defaults above would not mail it); the route's ``events`` list is applied with them, like every
other route setting, in shared/mail/compose.py::route_verdict, which documents its semantics.

Status: failures are FIRING. Nothing is ever RESOLVED: GitHub does not say that a problem is over,
and this bridge keeps no state to know that a green run follows a red one. Everything else
(successes a route asked for, releases, pushes, issues, ...) is INFO.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.problems import FieldError
from shared.sources.auth import SignatureInvalid, equal, verify_bearer_token
from shared.sources.base import HookRequest, InvalidHookPayload, Skip
from shared.sources.notification import (
    EventFacts,
    Link,
    Notification,
    Severity,
    Status,
    duration_text,
    time_text,
)
from shared.sources.readers import parse_time, require_object, text_of

if TYPE_CHECKING:
    from shared.settings import HookAuthSettings
    from shared.sources.base import SourceSettings

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SIGNATURE_HEADER = "X-Hub-Signature-256"

# Conclusions of workflow runs and jobs, check suites and check runs that someone must look at.
FAILING_CONCLUSIONS: dict[str, Severity] = {
    "failure": Severity.ERROR,
    "timed_out": Severity.ERROR,
    "startup_failure": Severity.ERROR,
    "cancelled": Severity.WARNING,
}
# Deployment status states (REST "deployment status" schema: error, failure, inactive, pending,
# success, queued, in_progress).
FAILING_DEPLOYMENT_STATES: dict[str, Severity] = {"failure": Severity.ERROR, "error": Severity.ERROR}

# Release notes, PR and issue bodies can be many pages of Markdown; a mail shows the start.
MAX_BODY_CHARS = 3000
MAX_LISTED_COMMITS = 10
MAX_LISTED_PULL_REQUESTS = 5
_SHA_RE = re.compile(r"[0-9a-f]{7,64}")
_VERBS = {
    "failure": "failed",
    "timed_out": "timed out",
    "startup_failure": "failed to start",
    "cancelled": "was cancelled",
    "success": "succeeded",
    "skipped": "was skipped",
    "neutral": "ended neutral",
    "action_required": "needs action",
    "stale": "went stale",
    "error": "ended in an error",
}


@dataclass(frozen=True)
class _Delivery:
    """What every event has: its name and action, the repository, who caused it, the delivery id."""

    event: str
    action: str | None
    payload: dict[str, Any]
    repository: str | None  # owner/name
    repository_url: str | None  # the repository's html_url (github.com or a GHES host)
    sender: str | None
    dedup_key: str | None

    def title(self, label: str, what: str) -> str:
        return f"[{label}] {what}" + (f" — {self.repository}" if self.repository else "")

    def commit_link(self, sha: str | None) -> Link | None:
        if not self.repository_url or not sha or not _SHA_RE.fullmatch(sha):
            return None
        return Link(f"Commit {sha[:7]}", f"{self.repository_url}/commit/{sha}")

    def pull_request_links(self, pull_requests: Any) -> list[Link]:
        if not self.repository_url:
            return []
        numbers = [n for pr in _objects(pull_requests) if (n := text_of(pr.get("number"))) and n.isdigit()]
        return [Link(f"Pull request #{n}", f"{self.repository_url}/pull/{n}") for n in numbers]

    def notification(
        self,
        *,
        title: str,
        status: Status,
        severity: Severity,
        summary: str | None,
        description: str | None,
        facts: Iterable[tuple[str, str | None]],
        links: Iterable[Link | None],
    ) -> Notification:
        unique_links: dict[str, Link] = {}
        for link in links:
            if link is not None and link.url not in unique_links:
                unique_links[link.url] = link
        return Notification(
            source="github",
            status=status,
            title=title,
            severity=severity,
            summary=summary,
            description=description,
            facts=[(key, value) for key, value in [("Repository", self.repository), *facts] if value],
            links=list(unique_links.values()),
            event=self.event,
            dedup_key=self.dedup_key,
        )


@dataclass(frozen=True)
class _Kind:
    """An event this module knows well: how to read its outcome, what it mails by default, how."""

    outcome_name: str  # "conclusion", "state": what the outcome is called in skip reasons
    outcome: Callable[[str | None, dict[str, Any]], str | None]
    mailed_by_default: Callable[[str | None, str | None], bool]  # (action, outcome)
    default_text: str  # the default, said in a skip reason
    build: Callable[[_Delivery, str | None], Notification]


class GitHubSource:
    """/api/hooks/github: the signature when GITHUB_WEBHOOK_SECRET is set, else the bearer token."""

    name = "github"

    def __init__(self, hook_auth: HookAuthSettings) -> None:
        self._secret = hook_auth.github_secret
        self._bearer_token = hook_auth.bearer_token

    def verify(self, request: HookRequest) -> bool:
        # GitHub cannot add an Authorization header of our choosing; its signature proves it instead.
        if self._secret is not None:
            verify_signature(request.headers.get(SIGNATURE_HEADER), request.body, self._secret)
            return True
        verify_bearer_token(request, self._bearer_token)
        return False

    def read(self, request: HookRequest) -> Notification | Skip:
        return to_notification(request)


def build(settings: SourceSettings) -> GitHubSource:
    return GitHubSource(settings.hook_auth)


def verify_signature(signature: str | None, body: bytes, secret: str) -> None:
    """GitHub's X-Hub-Signature-256: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not equal(signature.strip(), expected):
        raise SignatureInvalid("X-Hub-Signature-256 is missing or does not match GITHUB_WEBHOOK_SECRET.")


def to_notification(request: HookRequest) -> Notification | Skip:
    event = (request.header(EVENT_HEADER) or "").lower()
    if not event:
        raise InvalidHookPayload(
            f"The {EVENT_HEADER} header is missing; GitHub names the event of every delivery in it.",
            errors=[FieldError(EVENT_HEADER, "required header")],
        )
    if event == "ping":
        return Skip("ping", status="pong", http_status=200)
    payload = require_object(request.payload, "a GitHub webhook payload")
    delivery_id = request.header(DELIVERY_HEADER)
    repository = _object(payload.get("repository"))
    delivery = _Delivery(
        event=event,
        action=text_of(payload.get("action")),
        payload=payload,
        repository=text_of(repository.get("full_name")),
        repository_url=text_of(repository.get("html_url")),
        sender=_login(payload.get("sender")),
        dedup_key=f"github:{delivery_id}" if delivery_id else None,
    )
    kind = _KINDS.get(event)
    outcome = kind.outcome(delivery.action, payload) if kind else None
    if kind is not None:
        notification = kind.build(delivery, outcome)
    else:
        notification = _push(delivery) if event == "push" else _generic(delivery)
    return dataclasses.replace(notification, event_facts=_event_facts(delivery, kind, outcome))


def _event_facts(delivery: _Delivery, kind: _Kind | None, outcome: str | None) -> EventFacts:
    """The event, its action, and why the defaults (the module docstring) would not mail it."""
    event, action = delivery.event, delivery.action
    what = f"GitHub {event}" + (f" {action}" if action else "")
    if kind is None:
        return EventFacts(event, action, what, default_skip=f"{what} is not mailed by default")
    if kind.mailed_by_default(action, outcome):
        return EventFacts(event, action, what, outcome_filtered=True)
    with_outcome = f" with {kind.outcome_name} '{outcome}'" if outcome else ""
    return EventFacts(
        event,
        action,
        what,
        default_skip=f"{what}{with_outcome} is not mailed: only {kind.default_text} are",
        outcome_filtered=True,
    )


# --- GitHub Actions and checks ---------------------------------------------------------------


def _either(names: Iterable[str]) -> str:
    *rest, last = names
    return f"{', '.join(rest)} or {last}" if rest else last


def _completed_conclusion(key: str) -> Callable[[str | None, dict[str, Any]], str | None]:
    def outcome(action: str | None, payload: dict[str, Any]) -> str | None:
        if action != "completed":
            return None
        return (text_of(_object(payload.get(key)).get("conclusion")) or "").lower() or None

    return outcome


def _failed_completion(action: str | None, outcome: str | None) -> bool:
    return action == "completed" and outcome in FAILING_CONCLUSIONS


_FAILING_TEXT = f"completed ones with conclusion {_either(FAILING_CONCLUSIONS)}"


def _workflow_run(delivery: _Delivery, conclusion: str | None) -> Notification:
    run = _object(delivery.payload.get("workflow_run"))
    workflow = text_of(run.get("name")) or text_of(_object(delivery.payload.get("workflow")).get("name")) or "workflow"
    branch = text_of(run.get("head_branch"))
    sha = text_of(run.get("head_sha"))
    head_commit = _object(run.get("head_commit"))
    actor = _login(run.get("triggering_actor")) or _login(run.get("actor")) or delivery.sender
    number = text_of(run.get("run_number"))
    attempt = text_of(run.get("run_attempt"))
    duration = _duration(run.get("run_started_at") or run.get("created_at"), run.get("updated_at"))
    label = _label(conclusion, delivery.action, run)
    trigger = text_of(run.get("event"))
    sentences = [
        f"Run {'#' + number + ' ' if number else ''}of {workflow} {_verb(conclusion, run)}"
        + (f" after {duration}" if duration else "")
        + ".",
        f"Triggered by {trigger or 'an event'}" + (f" from {actor}" if actor else "") + ".",
    ]
    return delivery.notification(
        title=delivery.title(label, workflow + _on(branch)),
        status=_status(conclusion, FAILING_CONCLUSIONS),
        severity=_severity(conclusion, FAILING_CONCLUSIONS),
        summary=text_of(run.get("display_title")) or _first_line(head_commit.get("message")),
        description=" ".join(sentences),
        facts=[
            ("Workflow", workflow),
            ("Branch", branch),
            ("Commit", _short(sha)),
            ("Actor", actor),
            ("Trigger", trigger),
            ("Run", _run_number(number, attempt)),
            ("Conclusion", conclusion or text_of(run.get("status"))),
            ("Duration", duration),
            ("Pull requests", _pull_request_numbers(run.get("pull_requests"))),
        ],
        links=[
            _link("View run", run.get("html_url")),
            delivery.commit_link(sha),
            *delivery.pull_request_links(run.get("pull_requests"))[:MAX_LISTED_PULL_REQUESTS],
        ],
    )


def _workflow_job(delivery: _Delivery, conclusion: str | None) -> Notification:
    job = _object(delivery.payload.get("workflow_job"))
    name = text_of(job.get("name")) or "job"
    workflow = text_of(job.get("workflow_name"))
    branch = text_of(job.get("head_branch"))
    sha = text_of(job.get("head_sha"))
    duration = _duration(job.get("started_at"), job.get("completed_at"))
    failed_steps = [
        step_name
        for step in _objects(job.get("steps"))
        if str(step.get("conclusion")).lower() in FAILING_CONCLUSIONS and (step_name := text_of(step.get("name")))
    ]
    runner = text_of(job.get("runner_name"))
    run_id = text_of(job.get("run_id")) or ""
    labels = ", ".join(label for item in _list(job.get("labels")) if (label := text_of(item)))
    run_url = (
        f"{delivery.repository_url}/actions/runs/{run_id}" if delivery.repository_url and run_id.isdigit() else None
    )
    return delivery.notification(
        title=delivery.title(
            _label(conclusion, delivery.action, job),
            (f"{workflow} / {name}" if workflow else name) + _on(branch),
        ),
        status=_status(conclusion, FAILING_CONCLUSIONS),
        severity=_severity(conclusion, FAILING_CONCLUSIONS),
        summary=f"Failed step: {', '.join(failed_steps)}" if failed_steps else None,
        description=f"Job {name} {_verb(conclusion, job)}"
        + (f" after {duration}" if duration else "")
        + (f" on runner {runner}" if runner else "")
        + ".",
        facts=[
            ("Workflow", workflow),
            ("Job", name),
            ("Branch", branch),
            ("Commit", _short(sha)),
            ("Run attempt", text_of(job.get("run_attempt"))),
            ("Runner", runner),
            ("Labels", labels),
            ("Conclusion", conclusion or text_of(job.get("status"))),
            ("Duration", duration),
        ],
        links=[_link("View job", job.get("html_url")), _link("View run", run_url), delivery.commit_link(sha)],
    )


def _check_suite(delivery: _Delivery, conclusion: str | None) -> Notification:
    suite = _object(delivery.payload.get("check_suite"))
    app = text_of(_object(suite.get("app")).get("name")) or "Checks"
    branch = text_of(suite.get("head_branch"))
    sha = text_of(suite.get("head_sha"))
    return delivery.notification(
        title=delivery.title(_label(conclusion, delivery.action, suite), f"{app} checks" + _on(branch)),
        status=_status(conclusion, FAILING_CONCLUSIONS),
        severity=_severity(conclusion, FAILING_CONCLUSIONS),
        summary=_first_line(_object(suite.get("head_commit")).get("message")),
        description=f"The {app} check suite {_verb(conclusion, suite)}"
        + (f" for commit {_short(sha)}" if sha else "")
        + ".",
        facts=[
            ("App", app),
            ("Branch", branch),
            ("Commit", _short(sha)),
            ("Conclusion", conclusion or text_of(suite.get("status"))),
            ("Check runs", text_of(suite.get("latest_check_runs_count"))),
            ("Pull requests", _pull_request_numbers(suite.get("pull_requests"))),
        ],
        # A check suite has no page of its own; the commit page lists its checks.
        links=[
            delivery.commit_link(sha),
            *delivery.pull_request_links(suite.get("pull_requests"))[:MAX_LISTED_PULL_REQUESTS],
        ],
    )


def _check_run(delivery: _Delivery, conclusion: str | None) -> Notification:
    check = _object(delivery.payload.get("check_run"))
    suite = _object(check.get("check_suite"))
    name = text_of(check.get("name")) or "check"
    app = text_of(_object(check.get("app")).get("name")) or text_of(_object(suite.get("app")).get("name"))
    branch = text_of(suite.get("head_branch"))
    sha = text_of(check.get("head_sha")) or text_of(suite.get("head_sha"))
    output = _object(check.get("output"))
    duration = _duration(check.get("started_at"), check.get("completed_at"))
    annotations = text_of(output.get("annotations_count"))
    return delivery.notification(
        title=delivery.title(_label(conclusion, delivery.action, check), name + _on(branch)),
        status=_status(conclusion, FAILING_CONCLUSIONS),
        severity=_severity(conclusion, FAILING_CONCLUSIONS),
        summary=text_of(output.get("title")),
        description=_clip(text_of(output.get("summary")))
        or f"The check {name} {_verb(conclusion, check)}" + (f" after {duration}" if duration else "") + ".",
        facts=[
            ("Check", name),
            ("App", app),
            ("Branch", branch),
            ("Commit", _short(sha)),
            ("Conclusion", conclusion or text_of(check.get("status"))),
            ("Duration", duration),
            ("Annotations", annotations if annotations != "0" else None),
        ],
        links=[
            _link("View check", check.get("html_url")),
            _link("Details", check.get("details_url")),
            delivery.commit_link(sha),
            *delivery.pull_request_links(check.get("pull_requests"))[:MAX_LISTED_PULL_REQUESTS],
        ],
    )


# --- Deployments and releases ----------------------------------------------------------------


def _deployment_state(action: str | None, payload: dict[str, Any]) -> str | None:
    return (text_of(_object(payload.get("deployment_status")).get("state")) or "").lower() or None


def _deployment_status(delivery: _Delivery, state: str | None) -> Notification:
    status = _object(delivery.payload.get("deployment_status"))
    deployment = _object(delivery.payload.get("deployment"))
    workflow_run = _object(delivery.payload.get("workflow_run"))
    environment = text_of(status.get("environment")) or text_of(deployment.get("environment")) or "an environment"
    ref = text_of(deployment.get("ref"))
    sha = text_of(deployment.get("sha"))
    creator = _login(status.get("creator")) or _login(deployment.get("creator")) or delivery.sender
    label = (state or delivery.action or "deployment").replace("_", " ")
    return delivery.notification(
        title=delivery.title(label, "deployment" + (f" of {ref}" if ref else "") + f" to {environment}"),
        status=_status(state, FAILING_DEPLOYMENT_STATES),
        severity=_severity(state, FAILING_DEPLOYMENT_STATES),
        summary=text_of(status.get("description")) or text_of(deployment.get("description")),
        description="Deployment"
        + (f" of {ref}" if ref else "")
        + (f" ({_short(sha)})" if sha else "")
        + f" to {environment}"
        + (f" by {creator}" if creator else "")
        + f" {_VERBS.get(state or '') or 'is ' + label}.",
        facts=[
            ("Environment", environment),
            ("Ref", ref),
            ("Commit", _short(sha)),
            ("Task", text_of(deployment.get("task"))),
            ("Creator", creator),
            ("State", state),
            ("Workflow", text_of(workflow_run.get("name"))),
        ],
        links=[
            # log_url replaces the deprecated target_url; senders may set either (REST docs).
            _link("Deployment log", status.get("log_url") or status.get("target_url")),
            _link("Environment", status.get("environment_url")),
            _link("Workflow run", workflow_run.get("html_url")),
            delivery.commit_link(sha),
        ],
    )


def _no_outcome(action: str | None, payload: dict[str, Any]) -> str | None:
    return None


def _release(delivery: _Delivery, _outcome: str | None) -> Notification:
    release = _object(delivery.payload.get("release"))
    tag = text_of(release.get("tag_name"))
    name = text_of(release.get("name")) or tag or "release"
    author = _login(release.get("author")) or delivery.sender
    kind = "pre-release" if release.get("prerelease") is True else "release"
    label = kind if delivery.action in (None, "published") else f"{kind} {delivery.action}"
    published = parse_time(release.get("published_at"))
    return delivery.notification(
        title=delivery.title(label, name + (f" ({tag})" if tag and tag not in name else "")),
        status=Status.INFO,
        severity=Severity.INFO,
        summary=f"{name} was {delivery.action or 'published'}" + (f" by {author}" if author else "") + ".",
        description=_clip(text_of(release.get("body"))),
        facts=[
            ("Tag", tag),
            ("Name", name if name != tag else None),
            ("Target", text_of(release.get("target_commitish"))),
            ("Author", author),
            ("Published", time_text(published) or None),
            ("Pre-release", "yes" if release.get("prerelease") is True else None),
        ],
        links=[_link("Release notes", release.get("html_url"))],
    )


def _ci(key: str, build: Callable[[_Delivery, str | None], Notification]) -> _Kind:
    """Actions runs and jobs, check suites and runs: mailed when completed with a failing conclusion."""
    return _Kind("conclusion", _completed_conclusion(key), _failed_completion, _FAILING_TEXT, build)


_KINDS: dict[str, _Kind] = {
    "workflow_run": _ci("workflow_run", _workflow_run),
    "workflow_job": _ci("workflow_job", _workflow_job),
    "check_suite": _ci("check_suite", _check_suite),
    "check_run": _ci("check_run", _check_run),
    "deployment_status": _Kind(
        "state",
        _deployment_state,
        lambda _action, state: state in FAILING_DEPLOYMENT_STATES,
        f"ones with state {_either(FAILING_DEPLOYMENT_STATES)}",
        _deployment_status,
    ),
    "release": _Kind(
        "outcome", _no_outcome, lambda action, _outcome: action == "published", "published ones", _release
    ),
}


# --- Events a route asks for by name ----------------------------------------------------------


def _push(delivery: _Delivery) -> Notification:
    payload = delivery.payload
    ref = text_of(payload.get("ref")) or ""
    ref_kind, ref_name = (
        ("tag", ref[len("refs/tags/") :])
        if ref.startswith("refs/tags/")
        else ("branch", ref.removeprefix("refs/heads/"))
    )
    commits = _objects(payload.get("commits"))
    head = _object(payload.get("head_commit"))
    pusher = text_of(_object(payload.get("pusher")).get("name")) or delivery.sender
    if payload.get("deleted") is True:
        what = f"{ref_kind} {ref_name} deleted"
    elif ref_kind == "tag":
        what = f"tag {ref_name}" + (" created" if payload.get("created") is True else " pushed")
    else:
        force = "force-pushed " if payload.get("forced") is True else ""
        what = f"{force}{len(commits)} commit{'' if len(commits) == 1 else 's'} to {ref_name}"
    lines = [
        f"{_short(text_of(c.get('id'))) or '?'} {_first_line(c.get('message')) or ''}"
        + (f" ({author})" if (author := text_of(_object(c.get("author")).get("name"))) else "")
        for c in commits[:MAX_LISTED_COMMITS]
    ]
    if len(commits) > MAX_LISTED_COMMITS:
        lines.append(f"… and {len(commits) - MAX_LISTED_COMMITS} more")
    return delivery.notification(
        title=delivery.title("push", what),
        status=Status.INFO,
        severity=Severity.INFO,
        summary=_first_line(head.get("message")),
        description="\n".join(lines) or None,
        facts=[
            ("Ref", ref or None),
            ("Pusher", pusher),
            ("Commits", str(len(commits)) if commits else None),
            ("Head commit", _short(text_of(head.get("id")))),
            ("Forced", "yes" if payload.get("forced") is True else None),
        ],
        links=[_link("Compare", payload.get("compare")), _link("Head commit", head.get("url"))],
    )


# Where the thing an event is about lives, when it is not under the event's own name
# (``issues`` → ``issue``, ``issue_comment`` → ``issue`` + ``comment``).
_SUBJECT_KEYS = ("pull_request", "issue", "discussion")
_COMMENT_KEYS = ("comment", "review")


def _generic(delivery: _Delivery) -> Notification:
    """Any other event: repository, sender, action, and the title and page of what it is about."""
    payload = delivery.payload
    subject = next(
        (
            value
            for key in (delivery.event, delivery.event.removesuffix("s"), *_SUBJECT_KEYS)
            if isinstance(value := payload.get(key), dict)
        ),
        {},
    )
    comment = next((value for key in _COMMENT_KEYS if isinstance(value := payload.get(key), dict)), {})
    number = text_of(subject.get("number"))
    name = next(
        (text for key in ("title", "name", "tag_name", "full_name", "login") if (text := text_of(subject.get(key)))),
        None,
    )
    if name is None and (ref := text_of(payload.get("ref"))):  # create, delete
        name = f"{text_of(payload.get('ref_type')) or 'ref'} {ref}"
    what = " ".join(part for part in (f"#{number}" if number else None, name) if part)
    if not what:
        what = f"by {delivery.sender}" if delivery.sender else delivery.event
    label = delivery.event + (f" {delivery.action}" if delivery.action else "")
    return delivery.notification(
        title=delivery.title(label.replace("_", " "), what),
        status=Status.INFO,
        severity=Severity.INFO,
        summary=f"{delivery.sender or 'Someone'} {delivery.action or 'sent'} {delivery.event.replace('_', ' ')}"
        + (f" {what}" if what != delivery.event else "")
        + ".",
        description=_clip(text_of(comment.get("body")) or text_of(subject.get("body"))),
        facts=[
            ("Event", delivery.event),
            ("Action", delivery.action),
            ("Sender", delivery.sender),
            ("Author", _login(subject.get("user"))),
            ("State", text_of(subject.get("state"))),
        ],
        links=[
            _link("View comment", comment.get("html_url")),
            _link("View on GitHub", subject.get("html_url")),
            _link("Repository", delivery.repository_url) if not subject.get("html_url") else None,
        ],
    )


# --- Small readers ---------------------------------------------------------------------------


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _login(user: Any) -> str | None:
    return text_of(_object(user).get("login"))


def _link(title: str, url: Any) -> Link | None:
    text = text_of(url)
    return Link(title, text) if text else None


def _first_line(text: Any) -> str | None:
    value = text_of(text)
    return value.splitlines()[0].strip() or None if value else None


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_BODY_CHARS:
        return text
    return text[: MAX_BODY_CHARS - 1].rstrip() + "…"


def _short(sha: str | None) -> str | None:
    return sha[:7] if sha else None


def _on(branch: str | None) -> str:
    return f" on {branch}" if branch else ""


def _label(conclusion: str | None, action: str | None, thing: dict[str, Any]) -> str:
    """The bracketed word that starts a subject: the conclusion, else the action or status."""
    word = conclusion or action or text_of(thing.get("status")) or "update"
    return word.replace("_", " ")


def _verb(conclusion: str | None, thing: dict[str, Any]) -> str:
    if conclusion:
        return _VERBS.get(conclusion, f"ended: {conclusion.replace('_', ' ')}")
    status = text_of(thing.get("status"))
    return f"is {status.replace('_', ' ')}" if status else "changed"


def _status(outcome: str | None, failing: dict[str, Severity]) -> Status:
    return Status.FIRING if outcome in failing else Status.INFO


def _severity(outcome: str | None, failing: dict[str, Severity]) -> Severity:
    if outcome in failing:
        return failing[outcome]
    return Severity.WARNING if outcome == "action_required" else Severity.INFO


def _run_number(number: str | None, attempt: str | None) -> str | None:
    if not number:
        return None
    return f"#{number}" + (f", attempt {attempt}" if attempt and attempt != "1" else "")


def _pull_request_numbers(pull_requests: Any) -> str | None:
    numbers = [f"#{n}" for pr in _objects(pull_requests) if (n := text_of(pr.get("number")))]
    return ", ".join(numbers) or None


def _duration(start: Any, end: Any) -> str | None:
    started, ended = parse_time(start), parse_time(end)
    if started is None or ended is None or ended < started:
        return None
    return duration_text(started, ended)
