"""The dev server's HTTP edge: a listen backlog like a real server's, and Content-Length checked first."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator

import pytest

from scripts.devserver import LISTEN_BACKLOG
from tests.helpers.devserver import RunningDevServer, devserver_process, write_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevServer]:
    folder = tmp_path_factory.mktemp("devserver-http")
    settings = write_settings(
        folder / "local.settings.json",
        {"MAIL_TRANSPORT": "outbox", "MAIL_OUTBOX_DIR": str(folder / "outbox"), "MAIL_SENDER": "a@contoso.com"},
    )
    with devserver_process(settings, {}) as running:
        yield running


def _status_line(connection: socket.socket) -> bytes:
    """Read an answer's head (all our error answers have an empty body); return its status line."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0]


def test_sixty_clients_connecting_at_once_are_all_answered(server: RunningDevServer) -> None:
    assert LISTEN_BACKLOG >= 128
    clients = 60
    connections: list[socket.socket] = []
    # A stopped server accepts nothing: every connection must wait in the kernel's listen queue,
    # as they do when a burst arrives faster than the accept loop.
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        for number in range(clients):
            connection = socket.socket()
            connection.settimeout(2)
            try:
                connection.connect(("127.0.0.1", server.port))
            except OSError as exc:
                connection.close()
                pytest.fail(f"connection {number + 1} of {clients} was not queued ({exc}): the listen backlog is short")
            connections.append(connection)
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    try:
        for connection in connections:
            connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        for connection in connections:
            connection.settimeout(20)
            assert _status_line(connection).startswith(b"HTTP/1.1 "), "every queued client gets an answer"
    finally:
        for connection in connections:
            connection.close()


POST_MAIL = b"POST /api/mail HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"


def status_of(server: RunningDevServer, request: bytes) -> bytes:
    """Send raw request bytes and read the status line. The connection stays open, and nothing more
    is sent: a server that tried to read a body would wait here until the timeout."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(request)
        return _status_line(connection)


@pytest.mark.parametrize(
    "content_length",
    ["-1", "abc", "+5", "5 5", "1e3", "0x10", "", "99999999999999999999999999", "5, 6"],
)
def test_a_content_length_that_is_not_a_byte_count_is_400_without_reading_a_body(
    server: RunningDevServer, content_length: str
) -> None:
    request = POST_MAIL + f"Content-Length: {content_length}\r\n\r\n".encode()
    assert status_of(server, request) == b"HTTP/1.1 400 Bad Request"


def test_two_different_content_lengths_are_400(server: RunningDevServer) -> None:
    request = POST_MAIL + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    assert status_of(server, request) == b"HTTP/1.1 400 Bad Request"


def test_a_bad_chunk_size_is_400(server: RunningDevServer) -> None:
    assert status_of(server, POST_MAIL + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n") == b"HTTP/1.1 400 Bad Request"


def test_a_body_over_the_host_limit_is_413_without_reading_it(server: RunningDevServer) -> None:
    request = POST_MAIL + f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
    assert status_of(server, request) == b"HTTP/1.1 413 Request Entity Too Large"


def test_a_valid_content_length_still_works_on_a_kept_alive_connection(server: RunningDevServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        for _ in range(2):
            connection.sendall(b"POST /api/nothing-here HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}")
            assert _status_line(connection) == b"HTTP/1.1 404 Not Found"
