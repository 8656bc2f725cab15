"""A sender's knowledge lives in its source module: nothing outside shared/sources/ branches on a source's name."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.sources import SOURCES

SHARED = Path(__file__).parents[2] / "shared"


def comparisons_with_source_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every ==, !=, in, not in, match case or dict key that uses a source name literal."""
    found: list[tuple[int, str]] = []

    def names_in(node: ast.AST) -> list[str]:
        return [
            value.value
            for value in ast.walk(node)
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value in SOURCES
        ]

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found.extend((node.lineno, name) for name in names_in(node))
        elif isinstance(node, ast.match_case):
            found.extend((node.pattern.lineno, name) for name in names_in(node.pattern))
        elif isinstance(node, ast.Dict):
            found.extend((node.lineno, name) for key in node.keys if key is not None for name in names_in(key))
    return found


def test_no_module_outside_sources_compares_with_a_source_name() -> None:
    offenders = [
        f"{path.relative_to(SHARED.parent)}:{line}: {name!r}"
        for path in sorted(SHARED.rglob("*.py"))
        if "sources" not in path.relative_to(SHARED).parts[:1]
        for line, name in comparisons_with_source_names(ast.parse(path.read_text(), str(path)))
    ]
    assert offenders == []


def test_the_check_finds_a_comparison() -> None:
    code = "\n".join(
        [
            'if source == "github" or name in ("grafana",): pass',
            'x = {"slack": 1}',
            "match s:",
            '    case "alertmanager": pass',
            'y = "azure-monitor"  # a name alone is no comparison',
        ]
    )
    found = sorted(name for _, name in comparisons_with_source_names(ast.parse(code)))
    assert found == ["alertmanager", "github", "grafana", "slack"]
