"""One fresh process, one message: import the app (or a peer), send one message to the fake Graph, exit.

bench/cold_start.py times the whole process from the outside: interpreter start, imports, settings,
the token request, the first template compile, the send. That is the cold start a caller waits for.

    python bench/first_message.py --services '<json from fake_services.py>' (--payload NAME | --peer NAME)
"""

from __future__ import annotations

import argparse
import json
import os

import support


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", required=True, help="what bench/fake_services.py printed")
    parser.add_argument("--payload", choices=list(support.PAYLOADS))
    parser.add_argument("--peer", choices=["msgraph-sdk", "apprise"])
    args = parser.parse_args()
    services = json.loads(args.services)

    if args.peer:
        import peers

        peers.SENDERS[args.peer](services)(support.body_of(peers.MESSAGE_PAYLOAD))
        return
    payload = args.payload or "simple"
    support.use_environment(support.app_environment(services["graph_base_url"], services["identity_environment"]))
    support.worker_logging()
    function = support.PAYLOADS[payload][0]
    [body] = support.bodies(payload, 1, start=int.from_bytes(os.urandom(4), "big"))  # a new delivery each run
    response = support.http_functions()[function](support.http_request(function, body))
    if response.status_code != 202:
        raise SystemExit(f"{function} answered {response.status_code}: {response.get_body()[:300]!r}")


if __name__ == "__main__":
    main()
