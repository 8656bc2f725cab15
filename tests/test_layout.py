"""shared/ reads as the request's path: its parts, and no part that reaches back into one that uses it."""

from __future__ import annotations

from tests.helpers.package import SHARED, package_graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle between parts, as the path that closes it."""
    found = []
    for start in sorted(graph):
        pending = [[start]]
        while pending:
            path = pending.pop()
            for target in sorted(graph.get(path[-1], ())):
                if target == start:
                    found.append([*path, start])
                elif target not in path and target > start:  # each cycle once, from its smallest part
                    pending.append([*path, target])
    return found


def test_no_part_of_shared_imports_one_that_imports_it() -> None:
    assert cycles(package_graph()) == []


def test_the_cycle_check_finds_one() -> None:
    assert cycles({"delivery": {"runtime"}, "runtime": {"delivery", "mail"}, "mail": set()}) == [
        ["delivery", "runtime", "delivery"]
    ]


def test_the_steps_are_subpackages_and_few_modules_are_left_at_the_top() -> None:
    subpackages = {path.name for path in SHARED.iterdir() if (path / "__init__.py").is_file()}
    assert {"endpoints", "sources", "mail", "delivery", "azure", "settings"} <= subpackages
    assert len(list(SHARED.glob("*.py"))) <= 6
