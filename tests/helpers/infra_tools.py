"""The infrastructure checkers (checkov, shellcheck), which live in their own venv (.venv-infra)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
INFRA_VENV_BIN = REPO_ROOT / ".venv-infra" / "bin"


def find_tool(name: str, env_var: str) -> str:
    """Path of a dev tool: $ENV_VAR, then .venv-infra/bin, then PATH. Fails (never skips) if absent."""
    candidates = [os.environ.get(env_var, ""), str(INFRA_VENV_BIN / name), shutil.which(name) or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"{name} not found: pip install -r requirements-infra.txt into .venv-infra (or set {env_var})")


def run_checkov() -> dict[str, Any]:
    """checkov's JSON report on every Bicep file under infra/ (examples included)."""
    checkov = find_tool("checkov", "CHECKOV")
    completed = subprocess.run(
        [checkov, "--directory", str(INFRA_DIR), "--framework", "bicep", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    if isinstance(report, list):  # one entry per framework when there are several
        report = next(entry for entry in report if entry.get("check_type") == "bicep")
    return cast(dict[str, Any], report)
