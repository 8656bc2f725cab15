"""One fresh process, one message: import the app (or a peer), send one message to the fake Graph, exit.

bench/cold_start.py times the process from its start to the answer, which it prints (a mark line):
interpreter start, imports, settings, the token request, the first template compile, the send.
That is the cold start a caller waits for; the interpreter's teardown after it is not.

    python bench/first_message.py --services '<json from fake_services.py>' (--payload NAME | --peer NAME | --floor)

``--floor`` is what the four runtime dependencies cost doing the same by hand, with nothing of
ours: import azure.functions, msal, requests and pydantic, get one managed-identity token, POST
one sendMail. The app's first message is measured against it. ``--floor --validated`` does the
same after validating the payload with three small pydantic models written by hand: what
pydantic's model machinery costs on its own, so the figures say which part of our cold start is
pydantic's and which is ours. It is for the record; the budget is set on the plain floor.
"""

from __future__ import annotations

import argparse
import base64
import json
import os

import support


def send_by_hand(services: dict[str, object], *, validated: bool = False) -> None:
    """The floor: the four dependencies, one managed-identity token, one sendMail; no validation, no policy.

    ``validated``: the payload goes through hand-written pydantic models first (``validate_by_hand``).
    """
    import azure.functions  # noqa: F401 (imported as the worker would, for the comparison)
    import msal
    import pydantic  # noqa: F401
    import requests

    identity_environment = services["identity_environment"]
    assert isinstance(identity_environment, dict)
    support.use_environment(identity_environment)
    session = requests.Session()
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=session, token_cache=None)
    token = client.acquire_token_for_client(resource="https://graph.microsoft.com")["access_token"]
    # The same mail as ours, mapped by hand from the simplified payload: recipients with their
    # names, subject, text, importance, the custom header and the text attachment.
    message = json.loads(support.body_of("simple"))
    if validated:
        message = validate_by_hand(message)
    body = {
        "message": {
            "subject": message["subject"],
            "body": {"contentType": "Text", "content": message["text"]},
            "toRecipients": [
                {"emailAddress": {"address": to} if isinstance(to, str) else dict(to)} for to in message["to"]
            ],
            "importance": message["importance"],
            "internetMessageHeaders": [{"name": name, "value": value} for name, value in message["headers"].items()],
            "attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": attachment["name"],
                    "contentType": "text/plain",
                    "contentBytes": base64.b64encode(attachment["content"].encode()).decode(),
                }
                for attachment in message["attachments"]
            ],
        }
    }
    response = session.post(
        f"{services['graph_base_url']}/v1.0/users/{support.SENDER}/sendMail",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    if response.status_code != 202:
        raise SystemExit(f"the floor's sendMail answered {response.status_code}")


def validate_by_hand(document: dict[str, object]) -> dict[str, object]:
    """The simplified payload through three pydantic models: types, the address shape, no unknown field.

    Plugins are off as in the app (function_app.py), so this is pydantic's model machinery and
    nothing else: its import, three small models built, one validation.
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field, StringConstraints

    Address = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]  # noqa: N806

    class Named(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        address: Address
        name: str | None = None

    class Attachment(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        name: str = Field(min_length=1, max_length=255)
        content: str

    class Mail(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        to: list[Address | Named] = Field(max_length=500)
        subject: str = Field(min_length=1)
        text: str
        importance: Literal["low", "normal", "high"] = "normal"
        headers: dict[str, str] = Field(default_factory=dict, max_length=5)
        attachments: list[Attachment] = []

    return Mail.model_validate(document).model_dump(exclude_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", required=True, help="what bench/fake_services.py printed")
    parser.add_argument("--payload", choices=list(support.PAYLOADS))
    parser.add_argument("--peer", choices=["msgraph-sdk", "apprise"])
    parser.add_argument("--floor", action="store_true", help="the four dependencies by hand, nothing of ours")
    parser.add_argument("--validated", action="store_true", help="with --floor: validate with pydantic first")
    args = parser.parse_args()
    services = json.loads(args.services)

    if args.floor:
        send_by_hand(services, validated=args.validated)
        support.print_mark()
        return

    if args.peer:
        import peers

        peers.SENDERS[args.peer](services)(support.body_of(peers.MESSAGE_PAYLOAD))
        support.print_mark()
        return
    payload = args.payload or "simple"
    support.use_environment(support.app_environment(services["graph_base_url"], services["identity_environment"]))
    support.worker_logging()
    function = support.PAYLOADS[payload][0]
    [body] = support.bodies(payload, 1, start=int.from_bytes(os.urandom(4), "big"))  # a new delivery each run
    response = support.http_functions()[function](support.http_request(function, body))
    if response.status_code != 202:
        raise SystemExit(f"{function} answered {response.status_code}: {response.get_body()[:300]!r}")
    support.print_mark()  # answered: what the caller waited for (bench/cold_start.py, run_once)


if __name__ == "__main__":
    main()
