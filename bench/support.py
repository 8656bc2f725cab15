"""What the bench sections share: the payloads, the statistics, the machine, the app wired to the fakes.

Every section is a script that prints one JSON document on its last line; ``bench/run.py`` runs
them in fresh processes and writes ``bench/results.md``. Sections import the fakes from
``tests.fakes`` (the same servers the test suite uses), so the bench runs from the repository root.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SENDER = "bridge@contoso.com"
ROUTES = json.dumps({"default": {"to": "oncall@contoso.com"}})

# name → (function, body file, what it is). The four bodies every per-message figure is given for.
PAYLOADS: dict[str, tuple[str, Path, str]] = {
    "simple-minimal": ("mail", DATA / "simple-minimal.json", "simplified payload: to, subject, text"),
    "simple": ("mail", DATA / "simple-readme.json", "simplified payload as in the README (2 to, header, attachment)"),
    "reference-1": (
        "mail",
        ROOT / "tests" / "data" / "reference-example-1.json",
        "Graph sendMail reference page, example 1, byte for byte",
    ),
    "alertmanager-10": (
        "hooks",
        DATA / "alertmanager-10-alerts.json",
        "Alertmanager webhook (version 4), 10 alerts (8 firing, 2 resolved), HTML mail",
    ),
}

# Identity sources MSAL would pick before App Service's managed identity endpoint.
_OTHER_IDENTITY_VARIABLES = ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT")
_APP_VARIABLE_PREFIXES = ("MAIL_", "GRAPH_", "AZURE_", "IDENTITY_", "HOOK_", "GITHUB_", "GRAFANA_")


def body_of(payload: str) -> bytes:
    return PAYLOADS[payload][1].read_bytes()


def bodies(payload: str, count: int, *, start: int = 0) -> list[bytes]:
    """``count`` bodies of a payload. Webhook deliveries each get their own group key: the bridge
    deduplicates redeliveries, and the bench measures sends, not duplicates answered from memory."""
    body = body_of(payload)
    if PAYLOADS[payload][0] != "hooks":
        return [body] * count
    document = json.loads(body)
    group_key = document["groupKey"]
    variants = []
    for number in range(start, start + count):
        document["groupKey"] = f"{group_key}#{number}"
        variants.append(json.dumps(document, indent=2).encode())
    return variants


def app_environment(graph_base_url: str, identity_environment: Mapping[str, str]) -> dict[str, str]:
    """The app settings of a bridge that sends to the fake Graph with a (fake) managed identity."""
    return {
        "MAIL_SENDER": SENDER,
        "MAIL_ALLOWED_SENDERS": "bridge-2@contoso.com",
        "GRAPH_BASE_URL": graph_base_url,
        "MAIL_ROUTES": ROUTES,
        # The per-caller rate limit and the mailbox limits stay on (their cost is part of every
        # request) but high enough never to refuse a bench message: the recipient budget is at its
        # maximum (10,000 per mailbox; without storage, per process), which each section stays
        # under, and the pace far above what a section sends in a minute.
        "MAIL_RATE_LIMIT_PER_MINUTE": "100000",
        "MAIL_RATE_LIMIT_BURST": "100000",
        "MAIL_DAILY_RECIPIENT_BUDGET": "10000",
        "MAIL_DIGEST_RESERVE": "0",
        "MAIL_MAILBOX_MESSAGES_PER_MINUTE": "10000",
        **identity_environment,
    }


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """os.environ without the developer's own app settings, plus ``extra``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_APP_VARIABLE_PREFIXES)}
    for name in _OTHER_IDENTITY_VARIABLES:
        environment.pop(name, None)
    environment.update(extra)
    return environment


def use_environment(extra: Mapping[str, str]) -> None:
    """Make this process's environment the clean one, as the Functions host would set it."""
    environment = clean_environment(extra)
    os.environ.clear()
    os.environ.update(environment)


MARK_PREFIX = "mailhook-bench-mark"


def print_mark() -> None:
    """Say on stdout when this process got where it was timed to: monotonic clock, own CPU seconds.

    bench/cold_start.py times each process to this line, not to its exit (its ``run_once``).
    """
    print(MARK_PREFIX, time.monotonic(), time.process_time(), flush=True)


def worker_logging() -> None:
    """Log like the Python worker: the root logger at INFO, every record formatted for the host.

    The host's transport is not ours to measure, so the formatted line goes nowhere.
    """
    handler = logging.StreamHandler(Path(os.devnull).open("w"))  # noqa: SIM115 (lives as long as the process)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def http_functions() -> dict[str, Callable[..., Any]]:
    """The user functions function_app.py declares, indexed as the Python worker does."""
    import azure.functions as func

    import function_app

    [app] = [value for value in vars(function_app).values() if isinstance(value, func.FunctionRegister)]
    return {function.get_function_name(): function.get_user_function() for function in app.get_functions()}


def http_request(function: str, body: bytes) -> Any:
    """A real func.HttpRequest as the host builds it for POST /api/mail or /api/hooks/alertmanager."""
    import azure.functions as func

    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if function == "hooks":
        return func.HttpRequest(
            method="POST",
            url="http://localhost:7071/api/hooks/alertmanager",
            headers=headers,
            params={},
            route_params={"source": "alertmanager"},
            body=body,
        )
    return func.HttpRequest(method="POST", url="http://localhost:7071/api/mail", headers=headers, params={}, body=body)


class FakeServices:
    """bench/fake_services.py as a child process: the fake Graph and identity, and Entra if asked."""

    def __init__(self, *, graph_delay_s: float = 0.0, entra: bool = False, large_messages: bool = False) -> None:
        command = [sys.executable, str(BENCH / "fake_services.py"), "--graph-delay-s", str(graph_delay_s)]
        if entra:
            command.append("--entra")
        if large_messages:
            command.append("--large-messages")
        self._process = subprocess.Popen(  # noqa: S603 (our own script)
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self._process.stdout is not None
        self.description: dict[str, Any] = json.loads(self._process.stdout.readline())
        self.graph_base_url: str = self.description["graph_base_url"]
        self.identity_environment: dict[str, str] = self.description["identity_environment"]

    def stats(self) -> dict[str, Any]:
        """What the fakes saw so far: Graph requests and statuses, token requests, peak concurrency."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("stats\n")
        self._process.stdin.flush()
        return dict(json.loads(self._process.stdout.readline()))

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> FakeServices:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Median and spread: the interquartile range and the extremes."""
    ordered = sorted(samples)
    if len(ordered) >= 4:
        p25, _, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        p25, p75 = ordered[0], ordered[-1]
    return {
        "median": statistics.median(ordered),
        "p25": p25,
        "p75": p75,
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def machine_info() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo") as cpuinfo:  # noqa: PTH123 (Linux only, like the Functions workers)
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:  # noqa: PTH123
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "load_average": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def emit(document: Mapping[str, Any]) -> None:
    """A section's result: one JSON line on stdout, read by bench/run.py."""
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()
