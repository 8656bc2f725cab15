"""The peers, sending the same message to the same fake Graph: msgraph-sdk + azure-identity, and Apprise.

Runs in .venv-bench (``bench/requirements-bench.txt``). Each peer gets the raw body of the sendMail
reference page's example 1, as our /api/mail does, parses it and sends it the way its users
would. Per-message CPU is ``time.process_time_ns`` of this process, which holds no fake: they run
in bench/fake_services.py. How each peer is pointed at loopback:

- msgraph-sdk: a ``GraphRequestAdapter`` whose ``base_url`` is the fake's ``/v1.0``; kiota's
  ``AzureIdentityAuthenticationProvider`` with ``allowed_hosts=["127.0.0.1"]`` (it sends no token
  to a host outside that list) and kiota allows plain http for 127.0.0.1/localhost only. The
  credential is azure-identity's real ``ManagedIdentityCredential``, which reads
  IDENTITY_ENDPOINT/IDENTITY_HEADER as in Azure Functions and so talks to the fake identity.
- Apprise (``o365://`` = ``NotifyOffice365``): the plugin's endpoints are class attributes,
  ``graph_url`` and ``auth_url``, set here on the instance; it only has the client-secret flow,
  so it authenticates against FakeEntra (HTTPS; its CA through REQUESTS_CA_BUNDLE). Its built-in
  throttle (``request_rate_per_sec``, 0.2 s between requests) is set to 0: it is a sleep, not CPU,
  and would make the run 0.2 s per message. The sender must be an email address: for an object id
  the plugin first looks the user up at a hard-coded https://graph.microsoft.com.

    .venv-bench/bin/python bench/peers.py [--messages 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Callable
from typing import Any

import support

MESSAGE_PAYLOAD = "reference-1"


def msgraph_sender(services: dict[str, Any]) -> Callable[[bytes], None]:
    from azure.identity import ManagedIdentityCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

    os.environ.update(services["identity_environment"])
    credential = ManagedIdentityCredential()
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = f"{services['graph_base_url']}/v1.0"
    client = GraphServiceClient(request_adapter=adapter)
    loop = asyncio.new_event_loop()

    def recipients(items: list[dict[str, Any]] | None) -> list[Any] | None:
        if not items:
            return None
        return [Recipient(email_address=EmailAddress(address=item["emailAddress"]["address"])) for item in items]

    async def send(body: bytes) -> None:
        document = json.loads(body)
        given = document["message"]
        message = Message(
            subject=given["subject"],
            body=ItemBody(
                content_type=BodyType(given["body"]["contentType"].lower()), content=given["body"]["content"]
            ),
            to_recipients=recipients(given.get("toRecipients")),
            cc_recipients=recipients(given.get("ccRecipients")),
        )
        request = SendMailPostRequestBody(
            message=message, save_to_sent_items=str(document.get("saveToSentItems")).lower() == "true"
        )
        await client.users.by_user_id(support.SENDER).send_mail.post(request)

    return lambda body: loop.run_until_complete(send(body))


def apprise_sender(services: dict[str, Any]) -> Callable[[bytes], None]:
    import apprise

    os.environ["REQUESTS_CA_BUNDLE"] = services["entra_ca_bundle"]
    notifier = apprise.Apprise()
    # o365://{source}/{tenant}/{client_id}/{secret}/{targets}; the cc and format fit example 1.
    url = (
        f"o365://{support.SENDER}/{services['tenant']}/{services['client_id']}/{services['client_secret']}/"
        "fannyd@contoso.onmicrosoft.com?cc=danas@contoso.onmicrosoft.com&format=text"
    )
    if not notifier.add(url):
        raise SystemExit(f"Apprise refused the URL {url}")
    plugin = notifier[0]
    plugin.graph_url = services["graph_base_url"]
    plugin.auth_url = services["entra_authority_host"] + "/{tenant}/oauth2/v2.0/token"
    plugin.request_rate_per_sec = 0

    def send(body: bytes) -> None:
        document = json.loads(body)
        given = document["message"]
        if not notifier.notify(title=given["subject"], body=given["body"]["content"]):
            raise SystemExit("Apprise could not send; see its log")

    return send


SENDERS = {"msgraph-sdk": msgraph_sender, "apprise": apprise_sender}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    body = support.body_of(MESSAGE_PAYLOAD)
    results: dict[str, Any] = {}
    with support.FakeServices(entra=True) as fakes:
        senders = {name: make(fakes.description) for name, make in SENDERS.items()}
        for send in senders.values():
            for _ in range(10):  # the first fetches a token and opens the connection
                send(body)
        samples: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in senders}
        for _ in range(args.rounds):
            for name, send in senders.items():
                cpu_ns = wall_ns = 0
                for _ in range(args.messages):
                    wall_start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
                    send(body)
                    cpu_ns += time.process_time_ns() - cpu_start
                    wall_ns += time.perf_counter_ns() - wall_start
                samples[name]["cpu"].append(cpu_ns / args.messages / 1000)
                samples[name]["wall"].append(wall_ns / args.messages / 1000)
        stats = fakes.stats()
    for name, values in samples.items():
        results[name] = {"cpu_us": support.summary(values["cpu"]), "wall_us": support.summary(values["wall"])}
    expected = len(senders) * (10 + args.rounds * args.messages)
    if stats["graph_statuses"].get("202", 0) != expected:
        raise SystemExit(f"expected {expected} mails accepted by the fake Graph, got {stats['graph_statuses']}")
    support.emit({"section": "peers", "payload": MESSAGE_PAYLOAD, "peers": results, "fakes": stats})


if __name__ == "__main__":
    main()
