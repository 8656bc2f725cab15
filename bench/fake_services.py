"""The fake Graph, managed identity and Entra ID (tests/fakes) in a process of their own.

Graph is remote in production: serving it from another process keeps its CPU, its threads and its
GIL hand-offs out of the process being measured. The parent reads one JSON line describing the
services, then may write ``stats`` lines and read one JSON line back each time; end of input
stops the services.

    python bench/fake_services.py [--graph-delay-s 0.05] [--entra]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import support

TENANT = "contoso-tenant-id"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "bench-client-secret"  # noqa: S105 (a fake's fixture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph-delay-s", type=float, default=0.0)
    parser.add_argument("--entra", action="store_true", help="also start FakeEntra (HTTPS) with a registered app")
    parser.add_argument(
        "--large-messages",
        action="store_true",
        help="a mailbox whose maximum message size is 150 MB; uploads are hashed, not kept",
    )
    args = parser.parse_args()

    from tests.fakes.graph import FakeGraph
    from tests.fakes.identity import FakeManagedIdentity

    with ExitStack() as stack:
        large = {"max_message_bytes": 150 * 1024 * 1024, "keep_content": False} if args.large_messages else {}
        graph = stack.enter_context(FakeGraph(default_delay_s=args.graph_delay_s, **large))
        identity = stack.enter_context(FakeManagedIdentity())
        identity.on_issue = graph.valid_tokens.add
        description: dict[str, Any] = {
            "graph_base_url": graph.base_url,
            "identity_environment": identity.environment,
        }
        entra = None
        if args.entra:
            from tests.fakes.entra import FakeEntra

            cert_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-entra-")))
            entra = stack.enter_context(FakeEntra(cert_dir=cert_dir))
            entra.register_client(TENANT, CLIENT_ID, secret=CLIENT_SECRET)
            entra.on_issue = graph.valid_tokens.add
            description.update(
                entra_authority_host=entra.authority_host,
                entra_ca_bundle=entra.ca_bundle,
                tenant=TENANT,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            )
        support.emit(description)
        for line in sys.stdin:
            if line.strip() != "stats":
                continue
            statuses: dict[str, int] = {}
            operations: dict[str, int] = {}
            for request in graph.requests:
                statuses[str(request.status)] = statuses.get(str(request.status), 0) + 1
                operations[request.operation] = operations.get(request.operation, 0) + 1
            support.emit(
                {
                    "graph_requests": len(graph.requests),
                    "graph_operations": operations,
                    "mails_sent": len(graph.mails),
                    "graph_statuses": statuses,
                    "graph_mailboxes": sorted({r.mailbox or "" for r in graph.requests}),
                    "max_in_flight_per_mailbox": graph.max_concurrent_per_mailbox,
                    "identity_token_requests": len(identity.token_requests),
                    "entra_token_requests": len(entra.token_requests) if entra else 0,
                }
            )


if __name__ == "__main__":
    main()
