"""Fakes of the remote services Mailhook talks to, served over real HTTP on 127.0.0.1.

One module per service, each a context manager that starts a server on an ephemeral port:

- ``tests.fakes.graph.FakeGraph``: Microsoft Graph ``POST /v1.0/users/{id}/sendMail``.
- ``tests.fakes.identity.FakeManagedIdentity``: the App Service/Functions managed identity endpoint.
- ``tests.fakes.entra.FakeEntra``: Entra ID discovery + client-credentials token endpoint (HTTPS).
- ``tests.fakes.tls``: the throwaway certificates those need.

This module holds what they share: the threaded server, the record of a request, and the
queue of scripted answers (``enqueue``). Every fake answers requests that pass its own checks
(auth, size, ...) with the next scripted answer, or with its default answer when none is queued.
"""

from __future__ import annotations

import collections
import contextlib
import json as jsonlib
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

_STOP_JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HttpRequest:
    """One request as a fake received it. Header names are lower-cased."""

    method: str
    path: str  # without the query string, still percent-encoded
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.monotonic() once its headers had arrived

    @property
    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8", "replace")))


@dataclass(frozen=True)
class HttpAnswer:
    """What a fake sends back. ``close_without_answer`` drops the connection instead."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    close_without_answer: bool = False

    @classmethod
    def with_json(
        cls,
        status: int,
        payload: object,
        headers: Mapping[str, str] | None = None,
        *,
        delay_s: float = 0.0,
    ) -> HttpAnswer:
        return cls(
            status=status,
            body=jsonlib.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            delay_s=delay_s,
        )


@dataclass(frozen=True)
class ScriptedAnswer:
    """An answer a test queued with ``enqueue``; the fake turns it into an ``HttpAnswer``."""

    status: int
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    close_without_answer: bool = False

    def as_answer(self, base_headers: Mapping[str, str] | None = None) -> HttpAnswer:
        """The answer to send; ``headers`` given to ``enqueue`` override ``base_headers``."""
        headers = {**(base_headers or {}), **self.headers}
        body = b""
        if self.json is not None:
            body = jsonlib.dumps(self.json).encode()
            headers = {"Content-Type": "application/json", **headers}
        return HttpAnswer(self.status, body, headers, self.delay_s, self.close_without_answer)


class FakeHttpServer:
    """Base of the fakes: a ``ThreadingHTTPServer`` on 127.0.0.1:0 in a daemon thread.

    Subclasses implement ``_handle`` (called on a server thread, possibly many at once) and may
    override ``_in_flight`` to observe a request from its arrival until its answer is ready
    (a scripted delay included).
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._scripted: collections.deque[ScriptedAnswer] = collections.deque()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stopping.clear()
        self._server = _Server(self, self._ssl_context)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() waits for the loop
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # ends scripted delays early
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._serve_thread is not None:
            self._serve_thread.join(_STOP_JOIN_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use it in a `with` block")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- scripted answers --------------------------------------------------------------------

    def enqueue(
        self,
        status: int,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        close_without_answer: bool = False,
    ) -> None:
        """Queue an answer for the next request that passes this fake's own checks (FIFO).

        ``delay_s`` waits before answering (to cause client read timeouts);
        ``close_without_answer`` reads the request, then closes the connection.
        """
        scripted = ScriptedAnswer(
            status=status,
            json=json,
            headers=dict(headers or {}),
            delay_s=delay_s,
            close_without_answer=close_without_answer,
        )
        with self._lock:
            self._scripted.append(scripted)

    @property
    def pending_scripted(self) -> int:
        """How many queued answers have not been served yet."""
        with self._lock:
            return len(self._scripted)

    def _next_scripted(self) -> ScriptedAnswer | None:
        with self._lock:
            return self._scripted.popleft() if self._scripted else None

    # -- for subclasses ----------------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        raise NotImplementedError

    def _in_flight(self, request: HttpRequest) -> AbstractContextManager[None]:
        return nullcontext()

    def _wait(self, delay_s: float) -> bool:
        """Sleep up to ``delay_s``; False when the fake is stopping meanwhile."""
        if delay_s <= 0:
            return True
        return not self._stopping.wait(delay_s)


class _Server(ThreadingHTTPServer):
    """Starts a daemon thread per connection and keeps them, so stop() can end and join them."""

    def __init__(self, fake: FakeHttpServer, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        if ssl_context is not None:
            # The TLS handshake then runs on the connection's thread at its first read, so a
            # client that fails it cannot block the accept loop.
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self._connections_lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        assert isinstance(request, socket.socket)
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"{type(self.fake).__name__}-{self.server_address[1]}-connection",
            daemon=True,
        )
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def close_connections(self) -> None:
        """Unblock keep-alive connections waiting for a next request, then join their threads."""
        with self._connections_lock:
            connections = dict(self._connections)
        for sock in connections.values():
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _STOP_JOIN_TIMEOUT_S
        for thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that drop connections or fail the TLS handshake are normal in tests.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services; needs Content-Length
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle + delayed ACK
    # stall each keep-alive response ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the fakes' records, not an access log

    def _dispatch(self) -> None:
        received_at = time.monotonic()
        body = self._read_body()
        target = urllib.parse.urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=target.path,
            query=dict(urllib.parse.parse_qsl(target.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            received_at=received_at,
        )
        fake = self.server.fake
        # In flight until the answer is ready, not until it is written: a client that waits for
        # the answer before sending the next request must never see both counted at once.
        with fake._in_flight(request):
            answer = self._answer_or_error(request)
            answering = fake._wait(answer.delay_s) and not answer.close_without_answer
        if not answering:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""
        # requests streams generator bodies chunked (RFC 9112 section 7.1).
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(chunks)

    def _answer_or_error(self, request: HttpRequest) -> HttpAnswer:
        try:
            return self.server.fake._handle(request)
        except Exception:
            # A bug in a fake should fail the test loudly, not look like a network error.
            details = traceback.format_exc()
            print(details)
            return HttpAnswer(
                status=500,
                body=f"{type(self.server.fake).__name__} crashed:\n{details}".encode(),
                headers={"Content-Type": "text/plain"},
            )
