"""What tests read off the shared/ package itself: its Problem classes and its imports."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import shared
from shared.problems import Problem

SHARED = Path(shared.__file__).parent


def all_problem_classes() -> list[type[Problem]]:
    """Every Problem the bridge defines, after importing every module of shared/."""
    for module in pkgutil.walk_packages(shared.__path__, "shared."):
        importlib.import_module(module.name)
    found: list[type[Problem]] = []
    pending = list(Problem.__subclasses__())
    while pending:
        problem_class = pending.pop()
        found.append(problem_class)
        pending.extend(problem_class.__subclasses__())
    return [problem_class for problem_class in found if problem_class.__module__.startswith("shared.")]


def imported_modules(path: Path) -> set[str]:
    """The modules a file imports, at the top or inside functions (lazy imports count too)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def part_of(module: str) -> str | None:
    """``shared.mail.compose`` → ``mail``; a top-level module (``shared.problems``) names itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "shared" and len(parts) > 1 else None


def package_graph() -> dict[str, set[str]]:
    """Which parts of shared/ (its subpackages and top-level modules) import which others."""
    graph: dict[str, set[str]] = {}
    for path in SHARED.rglob("*.py"):
        relative = path.relative_to(SHARED).with_suffix("")
        source = relative.parts[0]
        if source == "__init__":
            continue
        targets = {part_of(module) for module in imported_modules(path)}
        graph.setdefault(source, set()).update(t for t in targets if t is not None and t != source)
    return graph
