"""Run scripts/devserver.py as a subprocess, as a user would, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.helpers.app import is_app_setting
from tests.helpers.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 20.0
_COMMAND = [sys.executable, str(ROOT / "scripts" / "devserver.py")]


def _environment(environment: Mapping[str, str]) -> dict[str, str]:
    # Nothing of the developer's own configuration leaks into the server under test.
    env = {name: value for name, value in os.environ.items() if not is_app_setting(name)}
    env.update(environment)
    return env


@dataclass(frozen=True)
class RunningDevServer:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def kill(self) -> None:
        """SIGKILL, as an instance that crashes or is recycled mid-request: nothing runs after it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text()


@contextmanager
def devserver_process(settings_file: Path, environment: Mapping[str, str]) -> Iterator[RunningDevServer]:
    """Start the dev server, wait until /api/health answers, yield it, then stop it."""
    port = free_port()
    # A file, not a pipe: nothing reads a pipe while the server runs, and a busy test's log lines
    # would fill it and block the server.
    log_path = settings_file.with_name(f"devserver-{port}.log")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*_COMMAND, "--port", str(port), "--settings", str(settings_file)],
            env=_environment(environment),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                requests.get(f"{base_url}/api/health", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"dev server did not start:\n{log_path.read_text()}") from None
                time.sleep(0.1)
        yield RunningDevServer(base_url, port, process, log_path)
    finally:
        if process.poll() is not None:
            # Already gone: only a test's kill() (SIGKILL, a crashed instance) may have done that.
            assert process.returncode == -signal.SIGKILL, f"dev server died:\n{log_path.read_text()}"
        else:
            assert stop(process) == 0, f"dev server did not stop cleanly:\n{log_path.read_text()}"


@contextmanager
def devserver(settings_file: Path, environment: Mapping[str, str]) -> Iterator[str]:
    """Start the dev server, wait until /api/health answers, yield its base URL, then stop it."""
    with devserver_process(settings_file, environment) as server:
        yield server.base_url


def devserver_refusal(
    settings_file: Path, environment: Mapping[str, str], timeout_s: float = 20.0
) -> subprocess.CompletedProcess[str]:
    """Run the dev server expecting it to refuse to start; return the finished process (text output)."""
    port = free_port()
    return subprocess.run(
        [*_COMMAND, "--port", str(port), "--settings", str(settings_file)],
        env=_environment(environment),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def write_settings(path: Path, values: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **values}}))
    return path
