"""Transports raise failure categories; nothing outside the Graph transport names Graph's exceptions."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from shared.delivery.transports import OutcomeUnknown, Refused, RetryLater
from shared.delivery.transports import graph as graph_transport
from shared.problems import Problem
from tests.helpers.package import all_problem_classes

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
GRAPH_MODULE = SHARED / "delivery" / "transports" / "graph.py"
GRAPH_PROBLEMS = {
    name
    for name, value in vars(graph_transport).items()
    if inspect.isclass(value) and issubclass(value, Problem) and value.__module__ == graph_transport.__name__
}
CATEGORIES = (RetryLater, OutcomeUnknown, Refused)


@pytest.mark.parametrize(
    ("name", "category", "status", "code"),
    [
        ("GraphUnavailable", RetryLater, 503, "graph_unavailable"),
        ("GraphTimeout", OutcomeUnknown, 504, "graph_timeout"),
        ("GraphRejectedMessage", Refused, 422, "graph_rejected_message"),
        ("GraphConfigurationError", Refused, 502, "graph_configuration_error"),
        ("GraphRequestTooLarge", Refused, 413, "message_too_large"),
        ("GraphFailed", OutcomeUnknown, 502, "graph_error"),
    ],
)
def test_graph_problems_keep_their_answer_and_join_a_category(
    name: str, category: type[Problem], status: int, code: str
) -> None:
    cls = getattr(graph_transport, name)
    assert issubclass(cls, category)
    assert (cls.status, cls.code) == (status, code)


def test_every_503_problem_a_worker_can_meet_is_retry_later() -> None:
    """The queue worker retries RetryLater; before the categories it retried every 503."""
    # These are answered before anything is dispatched: no transport or queue worker raises them.
    answered_before_dispatch = {
        "ConfigurationInvalid",
        "RouteWithoutRecipients",
        "RouteInvalid",
        "SigningKeysUnavailable",
    }
    unavailable = [cls for cls in all_problem_classes() if cls.status == 503 and cls not in CATEGORIES]
    assert {cls.__name__ for cls in unavailable} >= {
        "GraphUnavailable",
        "TokenUnavailable",
        "IdempotencyUnavailable",
        "QueueUnavailable",
        "OutboxWriteFailed",
    }
    assert [
        cls.__name__
        for cls in unavailable
        if not issubclass(cls, RetryLater) and cls.__name__ not in answered_before_dispatch
    ] == []


def test_retry_later_reads_retry_after_from_its_headers_or_sets_it() -> None:
    assert RetryLater("x", retry_after_s=4).headers == {"Retry-After": "4"}
    assert RetryLater("x", headers={"Retry-After": "9"}).retry_after_s == 9
    assert RetryLater("x").retry_after_s is None


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.name for alias in node.names)
    return names


def test_only_the_graph_transport_names_graph_exceptions() -> None:
    assert {"GraphUnavailable", "GraphTimeout", "GraphFailed"} <= GRAPH_PROBLEMS
    offenders = {
        str(path.relative_to(ROOT)): sorted(names_used(path) & GRAPH_PROBLEMS)
        for path in SHARED.rglob("*.py")
        if path != GRAPH_MODULE and names_used(path) & GRAPH_PROBLEMS
    }
    assert offenders == {}
