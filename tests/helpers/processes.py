"""What the tests' local servers (Azurite, Alertmanager, the dev server) share: ports, stopping, waiting."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free now (all held open together, so none repeats)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def free_port() -> int:
    return free_ports(1)[0]


def stop(process: subprocess.Popen[Any], *, timeout_s: float = 10) -> int:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``; its exit code."""
    process.terminate()
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=timeout_s)


def wait_until(condition: Callable[[], object], timeout_s: float) -> bool:
    """Poll ``condition`` every 0.1 s until it holds or ``timeout_s`` passes; whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())
