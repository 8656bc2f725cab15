"""shared/mail/compose.py::route_verdict: a route's ``events`` and ``sendResolved``, for every source.

The source states facts (``Notification.event_facts``); the route decides. The reasons are the
ones callers see in a 202 ``{"status": "ignored", "reason": ...}``, so they are checked whole.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.mail.compose import route_verdict
from shared.settings.routes import Route
from shared.sources.base import HookRequest, Skip
from shared.sources.github import to_notification
from shared.sources.notification import EventFacts, Notification, Status


def route(**fields: Any) -> Route:
    return Route.model_validate(fields)


def notification(facts: EventFacts | None = None, status: Status = Status.INFO) -> Notification:
    return Notification(source="test", status=status, title="t", event_facts=facts)


def reason(facts: EventFacts, events: list[str] | None) -> str | None:
    verdict = route_verdict(notification(facts), route(events=events) if events is not None else route(), "r")
    return verdict.reason if verdict is not None else None


FAILED_RUN = EventFacts("workflow_run", "completed", "GitHub workflow_run completed", outcome_filtered=True)
GREEN_RUN = EventFacts(
    "workflow_run",
    "completed",
    "GitHub workflow_run completed",
    default_skip="GitHub workflow_run completed with conclusion 'success' is not mailed: only completed ones "
    "with conclusion failure, timed_out, startup_failure or cancelled are",
    outcome_filtered=True,
)
PUSH = EventFacts("push", None, "GitHub push", default_skip="GitHub push is not mailed by default")
PR_OPENED = EventFacts(
    "pull_request",
    "opened",
    "GitHub pull_request opened",
    default_skip="GitHub pull_request opened is not mailed by default",
)


# --- no events: the source's defaults -----------------------------------------------------------


def test_without_events_the_source_defaults_decide() -> None:
    assert reason(FAILED_RUN, None) is None
    assert reason(GREEN_RUN, None) == (
        "GitHub workflow_run completed with conclusion 'success' is not mailed: only completed ones with conclusion "
        "failure, timed_out, startup_failure or cancelled are; list 'workflow_run.completed' in the route's events "
        "to get every one."
    )
    assert reason(PUSH, None) == "GitHub push is not mailed by default; list 'push' in the route's events to get it."
    assert reason(PR_OPENED, None) == (
        "GitHub pull_request opened is not mailed by default; list 'pull_request' in the route's events to get it."
    )


# --- a bare event name ----------------------------------------------------------------------------


def test_a_bare_event_name_keeps_the_default_outcome_filter() -> None:
    assert reason(FAILED_RUN, ["workflow_run"]) is None
    assert reason(GREEN_RUN, ["workflow_run"]) == (
        "GitHub workflow_run completed with conclusion 'success' is not mailed: only completed ones with conclusion "
        "failure, timed_out, startup_failure or cancelled are; list 'workflow_run.completed' in the route's events "
        "to get every one."
    )


def test_a_bare_event_name_without_a_default_mails_every_action() -> None:
    assert reason(PUSH, ["push"]) is None
    assert reason(PR_OPENED, ["pull_request"]) is None


# --- event.action ---------------------------------------------------------------------------------


def test_event_dot_action_mails_exactly_that_action_whatever_the_outcome() -> None:
    assert reason(GREEN_RUN, ["workflow_run.completed"]) is None
    assert reason(PR_OPENED, ["pull_request.opened"]) is None
    assert reason(PR_OPENED, ["pull_request.closed"]) == (
        "GitHub pull_request opened: the route's events (pull_request.closed) do not include "
        "'pull_request' or 'pull_request.opened'."
    )


def test_an_event_the_route_does_not_list_is_named_in_the_reason() -> None:
    assert reason(PUSH, ["workflow_run", "Release"]) == (
        "GitHub push: the route's events (workflow_run, Release) do not include 'push'."
    )
    assert reason(FAILED_RUN, ["push"]) == (
        "GitHub workflow_run completed: the route's events (push) do not include "
        "'workflow_run' or 'workflow_run.completed'."
    )


def test_event_names_are_matched_case_insensitively() -> None:
    assert reason(PUSH, ["PUSH"]) is None
    assert reason(GREEN_RUN, ["Workflow_Run.Completed"]) is None


def test_an_action_less_event_is_not_matched_by_a_dotted_name() -> None:
    assert reason(PUSH, ["push.created"]) == ("GitHub push: the route's events (push.created) do not include 'push'.")


# --- sources without event facts ------------------------------------------------------------------


def test_events_do_not_filter_sources_that_name_no_events() -> None:
    """Azure Monitor's signal type is shown as the event, but a route's events are GitHub event names."""
    alert = Notification(source="azure-monitor", status=Status.FIRING, title="t", event="Metric")
    assert route_verdict(alert, route(events=["push"]), "r") is None


# --- sendResolved ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "send_resolved", "expected"),
    [
        (Status.RESOLVED, False, "route 'db' does not send resolved notifications"),
        (Status.RESOLVED, True, None),
        (Status.FIRING, False, None),
        (Status.INFO, False, None),
    ],
)
def test_send_resolved(status: Status, send_resolved: bool, expected: str | None) -> None:
    verdict = route_verdict(notification(status=status), route(sendResolved=send_resolved), "db")
    assert (verdict.reason if verdict else None) == expected
    if verdict is not None:
        assert (verdict.status, verdict.http_status) == ("ignored", 202)


def test_the_events_verdict_comes_before_send_resolved() -> None:
    resolved_push = notification(PUSH, status=Status.RESOLVED)
    verdict = route_verdict(resolved_push, route(sendResolved=False), "db")
    assert verdict == Skip("GitHub push is not mailed by default; list 'push' in the route's events to get it.")


# --- what GitHub's source reports -----------------------------------------------------------------


def github(event: str, payload: dict[str, Any]) -> Notification:
    outcome = to_notification(HookRequest(source="github", payload=payload, headers={"X-GitHub-Event": event}))
    assert isinstance(outcome, Notification)
    return outcome


def test_github_reports_its_defaults_as_facts_not_verdicts() -> None:
    failed = github("workflow_run", {"action": "completed", "workflow_run": {"conclusion": "failure"}})
    assert failed.event_facts == EventFacts(
        "workflow_run", "completed", "GitHub workflow_run completed", outcome_filtered=True
    )
    assert github("push", {}).event_facts == PUSH
    draft = github("release", {"action": "created"})
    assert draft.event_facts == EventFacts(
        "release",
        "created",
        "GitHub release created",
        default_skip="GitHub release created is not mailed: only published ones are",
        outcome_filtered=True,
    )
