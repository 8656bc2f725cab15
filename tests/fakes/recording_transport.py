"""A Transport that records every message instead of sending it, like httpx's MockTransport.

Route, template and dispatch tests use it to see exactly what would go to Graph, with no MSAL
and no HTTP. Script failures with ``fail_next``: each call to ``send`` takes the next scripted
Problem (a RetryLater, OutcomeUnknown or Refused) and raises it; with none left, it accepts.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

from shared.mail.graph_message import GraphSend
from shared.problems import Problem


@dataclass(frozen=True)
class RecordedSend:
    mail: GraphSend
    request_id: str


class RecordingTransport:
    name = "recording"

    def __init__(self) -> None:
        self.attempts: list[RecordedSend] = []  # every call, failed ones included
        self.sent: list[RecordedSend] = []  # the calls that were accepted
        self._scripted: collections.deque[Problem] = collections.deque()
        self._lock = threading.Lock()

    def fail_next(self, *problems: Problem) -> None:
        """Raise these, one per call to ``send``, before accepting again."""
        with self._lock:
            self._scripted.extend(problems)

    def send(self, mail: GraphSend, request_id: str) -> None:
        recorded = RecordedSend(mail, request_id)
        with self._lock:
            self.attempts.append(recorded)
            problem = self._scripted.popleft() if self._scripted else None
            if problem is None:
                self.sent.append(recorded)
        if problem is not None:
            raise problem

    @property
    def subjects(self) -> list[str]:
        """The subject of each accepted message, in order."""
        return [recorded.mail.subject for recorded in self.sent]
