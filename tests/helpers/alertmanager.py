"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which .ci/run installs) on loopback."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.helpers.processes import free_port, stop

ALERTMANAGER = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
AMTOOL = shutil.which("amtool")
NOT_INSTALLED = "is not installed (Debian: apt-get install -y prometheus-alertmanager; .ci/run does it)"
_START_TIMEOUT_S = 20.0


@contextmanager
def running_alertmanager(config_file: Path, workspace: Path, *, external_url: str | None = None) -> Iterator[str]:
    """Start Alertmanager with ``config_file``, wait until it is ready, yield its API URL, stop it."""
    assert ALERTMANAGER is not None, f"Alertmanager {NOT_INSTALLED}"
    port = free_port()
    arguments = [
        f"--config.file={config_file}",
        f"--storage.path={workspace / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # a single instance: no gossip port
        "--log.level=warn",
    ]
    if external_url:
        arguments.append(f"--web.external-url={external_url}")
    log_path = workspace / "alertmanager.log"
    # A file, not a pipe: nothing reads a pipe while Alertmanager runs.
    with log_path.open("w") as log:
        process = subprocess.Popen([ALERTMANAGER, *arguments], stdout=log, stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                if requests.get(f"{api_url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Alertmanager did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield api_url
    finally:
        stop(process)
