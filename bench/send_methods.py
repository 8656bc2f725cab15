"""The two send methods side by side, and a large attachment through an upload session.

1. For MAIL_SEND_METHOD=sendmail and =draft: ``--messages`` messages of each payload (reference
   example 1 and the README's simplified payload, with its small attachment) through the real user
   function to the fake Graph in another process: Graph calls per message, and this process's CPU
   per message (``time.process_time``), HTTP included.
2. One ``--attachment-mib`` MiB file (random bytes) sent by the Graph transport through a draft's
   upload session: upload throughput, Graph calls, and the peak RSS of this process
   (``ru_maxrss``) against what it held before the message was built, and what the send itself
   allocates at most (``tracemalloc``, a second send of the same message). The message is built by
   the policy as /api/mail would build it and handed to the transport directly: its base64 (a
   third larger) would not fit in /api/mail's 100 MB body.

    python bench/send_methods.py [--messages 40] [--attachment-mib 140]
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import time
import tracemalloc
import uuid
from typing import Any

import support

PAYLOADS = ("reference-1", "simple")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def per_method(fakes: support.FakeServices, functions: dict[str, Any], method: str, messages: int) -> dict[str, Any]:
    import shared.runtime
    from shared.settings import load_settings

    # Each method its own runtime: the function objects answer with the process's runtime.
    shared.runtime._runtime = shared.runtime.build_runtime(load_settings({**os.environ, "MAIL_SEND_METHOD": method}))
    result: dict[str, Any] = {"method": method}
    for name in PAYLOADS:
        body = support.body_of(name)
        functions["mail"](support.http_request("mail", body))  # warm: the token, first imports
        before = fakes.stats()["graph_requests"]
        started = time.process_time_ns()
        for _ in range(messages):
            response = functions["mail"](support.http_request("mail", body))
            if response.status_code != 202:
                raise SystemExit(f"{method} {name}: {response.status_code} {response.get_body()[:300]!r}")
        cpu_ns = time.process_time_ns() - started
        calls = fakes.stats()["graph_requests"] - before
        result[name] = {"graph_calls_per_message": calls / messages, "cpu_us_per_message": cpu_ns / messages / 1000}
    shared.runtime._runtime = None
    return result


def large_attachment(fakes: support.FakeServices, mib: int) -> dict[str, Any]:
    from shared.mail.draft import parse_mail_request
    from shared.runtime import build_runtime
    from shared.settings import load_settings

    runtime = build_runtime(load_settings(os.environ))
    warm = parse_mail_request({"to": "ops@contoso.com", "subject": "warm", "text": "x"})
    runtime.transport.send(runtime.policy.approve(warm), str(uuid.uuid4()))
    rss_before_mib = peak_rss_mib()
    # The base64 built a slice at a time, as a client's JSON encoder would hand it over.
    pieces = [3 * 1024 * 1024] * (mib // 3) + ([mib % 3 * 1024 * 1024] if mib % 3 else [])
    content = "".join(base64.b64encode(os.urandom(piece)).decode() for piece in pieces)
    payload = {"to": "ops@contoso.com", "subject": "core dump", "text": "attached"}
    payload["attachments"] = [{"name": "core.bin", "contentBase64": content}]  # type: ignore[list-item]
    del content
    mail = runtime.policy.approve(parse_mail_request(payload))
    del payload
    before = fakes.stats()
    started = time.perf_counter()
    cpu_started = time.process_time()
    runtime.transport.send(mail, str(uuid.uuid4()))
    elapsed_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    after = fakes.stats()
    # The same send again (a new request id: a second mail), traced: what the send itself allocates.
    tracemalloc.start()
    runtime.transport.send(mail, str(uuid.uuid4()))
    send_peak_mib = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    return {
        "attachment_mib": mib,
        "graph_request_mib": mail.body_bytes / 1024 / 1024,
        "seconds": elapsed_s,
        "cpu_s": cpu_s,
        "upload_mib_per_s": mib / elapsed_s,
        "graph_calls": after["graph_requests"] - before["graph_requests"],
        "uploads": after["graph_operations"].get("upload", 0) - before["graph_operations"].get("upload", 0),
        "mails_sent": after["mails_sent"] - before["mails_sent"],
        "rss_before_mib": rss_before_mib,
        "rss_peak_mib": peak_rss_mib(),
        "send_traced_peak_mib": send_peak_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--attachment-mib", type=int, default=140)
    args = parser.parse_args()
    result: dict[str, Any] = {"section": "send_methods", "messages": args.messages}
    with support.FakeServices(large_messages=True) as fakes:
        support.use_environment(support.app_environment(fakes.graph_base_url, fakes.identity_environment))
        support.worker_logging()
        functions = support.http_functions()
        result["methods"] = [per_method(fakes, functions, method, args.messages) for method in ("sendmail", "draft")]
        result["large"] = large_attachment(fakes, args.attachment_mib)
    support.emit(result)


if __name__ == "__main__":
    main()
