"""Time and peak memory of the worst bodies a caller can send within the 6 MB body limit.

Each input runs in a fresh process: import the app, answer one small request (templates compiled,
pydantic warmed up), build the hostile body, then answer it once through the real user function,
the outbox transport writing whatever is accepted. It prints, per input, the HTTP status, the wall
time of that one request and the peak RSS it added (VmHWM after minus VmRSS before, the peak
reset once the body is built). Not run by
``make bench``; tests/test_resource_bounds.py runs the same inputs and asserts the bounds.

    python bench/hostile_inputs.py [NAME ...]     # every input when none is named
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Just under intake's MAX_BODY_BYTES (6 MiB), which every input stays within.
BODY_LIMIT = 6 * 1024 * 1024


def _alerts_body(alert: str, count: int, version: str = "4") -> bytes:
    head = f'{{"version":"{version}","status":"firing","receiver":"r","groupKey":"k","alerts":['.encode()
    return head + b",".join([alert.encode()] * count) + b"]}"


def _fill(prefix: bytes, item: bytes, suffix: bytes) -> bytes:
    """prefix + as many comma-separated items as fit the body limit + suffix."""
    count = (BODY_LIMIT - len(prefix) - len(suffix) - 16) // (len(item) + 1)
    return prefix + b",".join([item] * count) + suffix


def _labels_alert() -> bytes:
    """One alert whose labels (distinct names: a repeated key is refused at intake) fill the body."""
    head, tail = b'{"version":"4","status":"firing","alerts":[{"labels":{', b"}}]}"
    labels, size, index = [], len(head) + len(tail), 0
    while size < BODY_LIMIT - 64:
        label = f'"l{index}":"v"'.encode()
        labels.append(label)
        size, index = size + len(label) + 1, index + 1
    return head + b",".join(labels) + tail


INPUTS: dict[str, tuple[str, str, Callable[[], bytes], dict[str, str]]] = {
    # name: (function, source or route, body factory, headers)
    "alertmanager 2M empty alerts": ("hooks", "alertmanager", lambda: _alerts_body("{}", 2_000_000), {}),
    "grafana 2M empty alerts": ("hooks", "grafana", lambda: _alerts_body("{}", 2_000_000, "1"), {}),
    "alertmanager 250k one-label alerts": (
        "hooks",
        "alertmanager",
        lambda: _alerts_body('{"labels":{"a":"b"}}', 250_000),
        {},
    ),
    "alertmanager one alert, 6 MB of labels": ("hooks", "alertmanager", _labels_alert, {}),
    "alertmanager 6 MB description": (
        "hooks",
        "alertmanager",
        lambda: (
            b'{"version":"4","alerts":[{"annotations":{"description":"' + b"<b>" * (BODY_LIMIT // 3 - 40) + b'"}}]}'
        ),
        {},
    ),
    "grafana 100k alerts with values": (
        "hooks",
        "grafana",
        lambda: _alerts_body('{"values":{"A":1.5,"B":2},"valueString":"x"}', 100_000, "1"),
        {},
    ),
    "azure-monitor 6 MB description": (
        "hooks",
        "azure-monitor",
        lambda: (
            b'{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertRule":"r","description":"'
            + b"x" * (BODY_LIMIT - 200)
            + b'"}}}'
        ),
        {},
    ),
    "slack 1M empty blocks": ("hooks", "slack", lambda: _fill(b'{"text":"t","blocks":[', b"{}", b"]}"), {}),
    "slack 6 MB of links": (
        "hooks",
        "slack",
        lambda: b'{"text":"' + b"<https://x.example/|a>" * (BODY_LIMIT // 24) + b'"}',
        {},
    ),
    "azure-monitor 1M empty objects": ("hooks", "azure-monitor", lambda: _fill(b'{"data":{"x":[', b"{}", b"]}}"), {}),
    "github 1M commits": (
        "hooks",
        "github",
        lambda: _fill(b'{"ref":"refs/heads/main","repository":{"full_name":"o/r"},"commits":[', b"{}", b"]}"),
        {"X-GitHub-Event": "push"},
    ),
    "mail 100k recipients": (
        "mail",
        "mail",
        lambda: json.dumps({"to": [f"u{i}@contoso.com" for i in range(100_000)], "subject": "s"}).encode(),
        {},
    ),
    "mail graph form 100k recipients": (
        "mail",
        "mail",
        lambda: json.dumps(
            {
                "message": {
                    "subject": "s",
                    "toRecipients": [{"emailAddress": {"address": f"u{i}@contoso.com"}} for i in range(100_000)],
                }
            }
        ).encode(),
        {},
    ),
    "mail 300k reply-to": (
        "mail",
        "mail",
        lambda: json.dumps({"to": "a@contoso.com", "replyTo": ["u@contoso.com"] * 300_000, "subject": "s"}).encode(),
        {},
    ),
    "mail 6 MB of hostile html": (
        "mail",
        "mail",
        lambda: _fill(b'{"to":"a@contoso.com","subject":"s","html":"', b"<p onclick=x>a</p>", b'"}').replace(
            b",<p", b"<p"
        ),
        {},
    ),
    "mail 100k attachments": (
        "mail",
        "mail",
        lambda: json.dumps(
            {"to": "a@contoso.com", "subject": "s", "attachments": [{"name": "a", "content": ""}] * 100_000}
        ).encode(),
        {},
    ),
}

WARM_UP = {
    "hooks": ("alertmanager", b'{"version":"4","status":"firing","alerts":[{"labels":{"alertname":"A"}}]}'),
    "mail": ("mail", b'{"to":"a@contoso.com","subject":"s","text":"t"}'),
}


def _status_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of this process, from /proc/self/status (in kB there)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    """Start the peak (VmHWM) again from the current RSS, so building the body is not counted.

    Writing 5 to clear_refs resets it (Linux 4.0+, Documentation/admin-guide/mm/soft-dirty.rst and
    proc(5)); without it, the peak of building a 6 MB body of 2 million objects hides a smaller one.
    """
    Path("/proc/self/clear_refs").write_text("5")


def _request(function: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
    import azure.functions as func

    url = f"http://localhost/api/hooks/{target}" if function == "hooks" else "http://localhost/api/mail"
    return func.HttpRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/json", "Content-Length": str(len(body)), **headers},
        params={},
        route_params={"source": target} if function == "hooks" else {},
        body=body,
    )


def measure_one(name: str) -> dict[str, Any]:
    """In this process: warm up, then answer the named input once."""
    function, target, make_body, headers = INPUTS[name]
    outbox = tempfile.mkdtemp(prefix="mailhook-hostile-")
    os.environ.update(
        {
            "MAIL_SENDER": "bridge@contoso.com",
            "MAIL_TRANSPORT": "outbox",
            "MAIL_OUTBOX_DIR": outbox,
            "MAIL_DEFAULT_TO": "oncall@contoso.com",
            "MAIL_RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    import function_app

    handlers = {"hooks": function_app.hooks, "mail": function_app.mail}
    for warm_function, (warm_target, warm_body) in WARM_UP.items():
        handler = handlers[warm_function].build().get_user_function()
        handler(_request(warm_function, warm_target, warm_body, {}))
    body = make_body()
    assert len(body) <= BODY_LIMIT, (name, len(body))
    request = _request(function, target, body, headers)
    handler = handlers[function].build().get_user_function()
    mailed_before = len(list(Path(outbox).glob("*.eml")))
    gc.collect()
    _reset_peak_rss()
    before_mib = _status_mib("VmRSS")
    started = time.perf_counter()
    response = handler(request)
    elapsed_s = time.perf_counter() - started
    return {
        "input": name,
        "body_bytes": len(body),
        "status": response.status_code,
        "code": json.loads(response.get_body()).get("code"),
        "seconds": round(elapsed_s, 3),
        "extra_peak_rss_mib": round(_status_mib("VmHWM") - before_mib, 1),
        "mailed": len(list(Path(outbox).glob("*.eml"))) - mailed_before,
    }


_APP_SETTING_PREFIXES = ("MAIL_", "GRAPH_", "HOOK_", "GRAFANA_", "GITHUB_", "AZURE_", "IDENTITY_")


def measure(name: str, timeout_s: float = 300) -> dict[str, Any]:
    """The input measured in a fresh process (so one input's peak is not another's)."""
    completed = subprocess.run(  # noqa: S603 (our interpreter, this script)
        [sys.executable, __file__, "--one", name],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
        env={
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MAIL_", "HOOK_", "GRAFANA_", "GITHUB_", "AZURE_"))
        },
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{name}: exit {completed.returncode}\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        import logging

        logging.disable(logging.CRITICAL)
        print(json.dumps(measure_one(sys.argv[2])))
        return
    for name in sys.argv[1:] or list(INPUTS):
        result = measure(name)
        print(
            f"{result['input']:<42} {result['body_bytes'] / 2**20:5.2f} MiB  {result['status']} "
            f"{result['code'] or '':<22} {result['seconds']:7.3f} s  +{result['extra_peak_rss_mib']:7.1f} MiB"
            f"  mailed {result['mailed']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
