"""The one interface every transport implements, chosen once from MAIL_TRANSPORT."""

from __future__ import annotations

from typing import Protocol

from shared.mail.graph_message import GraphSend


class Transport(Protocol):
    name: str

    def send(self, mail: GraphSend, request_id: str) -> None:
        """Deliver the message or raise a Problem saying why not; never send it twice."""
        ...
