"""Token economy: how many token requests the identity endpoint sees per 1,000 sends.

The app runs in this process with a managed identity pointed at the fake identity endpoint
(bench/fake_services.py counts the requests). Two runs, each with a fresh Runtime (its own MSAL
client and token cache, as a new instance would have): 1,000 sends one after the other, then
1,000 sends from 8 threads released together, so that all 8 miss the empty cache at once.

    python bench/token_economy.py [--messages 1000] [--threads 8]
"""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import support


def fresh_runtime() -> None:
    """Forget the process's Runtime: the next request builds a new MSAL client with an empty cache."""
    import shared.runtime

    shared.runtime._runtime = None


def send_all(handler: Any, count: int, threads: int) -> int:
    body = support.body_of("simple-minimal")
    barrier = threading.Barrier(threads)
    per_thread = [count // threads + (1 if index < count % threads else 0) for index in range(threads)]

    def worker(sends: int) -> int:
        barrier.wait()
        accepted = 0
        for _ in range(sends):
            response = handler(support.http_request("mail", body))
            accepted += response.status_code == 202
        return accepted

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(worker, per_thread))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    runs: list[dict[str, Any]] = []
    with support.FakeServices() as fakes:
        support.use_environment(support.app_environment(fakes.graph_base_url, fakes.identity_environment))
        support.worker_logging()
        handler = support.http_functions()["mail"]
        for threads in (1, args.threads):
            fresh_runtime()
            before = fakes.stats()
            accepted = send_all(handler, args.messages, threads)
            after = fakes.stats()
            token_requests = after["identity_token_requests"] - before["identity_token_requests"]
            runs.append(
                {
                    "threads": threads,
                    "sends": args.messages,
                    "accepted": accepted,
                    "graph_requests": after["graph_requests"] - before["graph_requests"],
                    "token_requests": token_requests,
                    "token_requests_per_1000_sends": token_requests * 1000 / args.messages,
                }
            )
    support.emit({"section": "token_economy", "runs": runs})


if __name__ == "__main__":
    main()
