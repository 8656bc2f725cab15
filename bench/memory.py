"""Peak memory (RSS) of a worker-like process after 1,000 messages.

A fresh process does what a Functions worker does for this app: import function_app, then answer
requests through the user functions, here 1,000 of them (the minimal and README simplified
payloads, reference example 1 and the 10-alert Alertmanager webhook, in turn) sent on to the fake
Graph in another process. It reports its peak RSS (``ru_maxrss``) after import, after the first
message and after all of them. With ``--peer``, the same for a peer sending reference example 1.
bench/run.py starts one such process per measurement, so nothing else is in its memory.

    python bench/memory.py [--messages 1000] [--peer msgraph-sdk|apprise]
"""

from __future__ import annotations

import argparse
import resource
from typing import Any

import support

ROTATION = ("simple-minimal", "simple", "reference-1", "alertmanager-10")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--peer", choices=["msgraph-sdk", "apprise"])
    args = parser.parse_args()

    result: dict[str, Any] = {"section": "memory", "who": args.peer or "mailhook", "messages": args.messages}
    result["rss_start_mib"] = peak_rss_mib()
    with support.FakeServices(entra=args.peer == "apprise") as fakes:
        if args.peer:
            import peers

            send = peers.SENDERS[args.peer](fakes.description)
            result["rss_after_import_mib"] = peak_rss_mib()
            body = support.body_of(peers.MESSAGE_PAYLOAD)
            send(body)
            result["rss_after_first_mib"] = peak_rss_mib()
            for _ in range(args.messages - 1):
                send(body)
        else:
            support.use_environment(support.app_environment(fakes.graph_base_url, fakes.identity_environment))
            support.worker_logging()
            functions = support.http_functions()
            result["rss_after_import_mib"] = peak_rss_mib()
            per_payload = args.messages // len(ROTATION) + 1
            queues = {name: iter(support.bodies(name, per_payload, start=1)) for name in ROTATION}
            for number in range(args.messages):
                name = ROTATION[number % len(ROTATION)]
                function = support.PAYLOADS[name][0]
                response = functions[function](support.http_request(function, next(queues[name])))
                if response.status_code != 202:
                    raise SystemExit(f"{name}: {response.status_code} {response.get_body()[:300]!r}")
                if number == 0:
                    result["rss_after_first_mib"] = peak_rss_mib()
        stats = fakes.stats()
    result["rss_peak_mib"] = peak_rss_mib()
    result["graph_accepted"] = stats["graph_statuses"].get("202", 0)
    support.emit(result)


if __name__ == "__main__":
    main()
