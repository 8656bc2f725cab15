#!/usr/bin/env python3
"""Local HTTP server for the function app, for machines without Azure Functions Core Tools.

It does what ``func start`` does for HTTP and queue triggers: reads ``local.settings.json`` Values
into the environment (the real environment wins), imports ``function_app``, indexes it the way the
Python worker does (exactly one FunctionApp), and serves the routes it declares under host.json's
route prefix by calling the real function objects with real ``func.HttpRequest`` objects. Like
Core Tools, it does not check function keys. Queue-triggered functions are run the way the host
runs them, from host.json's ``extensions.queues`` settings: poll, invoke with a real
``func.QueueMessage``, delete on success, make visible again after ``visibilityTimeout`` on an
exception, and move to ``<queue>-poison`` after ``maxDequeueCount`` dequeues. They need a storage
connection string (Azurite: ``UseDevelopmentStorage=true``); without one they are not polled.

    python scripts/devserver.py [--port 7071] [--host 127.0.0.1] [--settings local.settings.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 7071
# The Functions host refuses request bodies over 100 MB (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT default).
MAX_BODY_BYTES = 100 * 1024 * 1024

log = logging.getLogger("devserver")


@dataclass(frozen=True)
class HttpRoute:
    function_name: str
    pattern: re.Pattern[str]
    template: str
    methods: frozenset[str] | None  # None: any method
    auth_level: str
    trigger_arg: str
    handler: Callable[..., Any]


def load_local_settings(path: Path, environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Copy the file's Values into environ where not already set; return the names copied."""
    if not path.is_file():
        return []
    values = json.loads(path.read_text()).get("Values", {})
    copied = []
    for name, value in values.items():
        if name not in environ:
            environ[name] = str(value)
            copied.append(name)
    return copied


def route_pattern(template: str, prefix: str) -> re.Pattern[str]:
    """A Functions route template (``hooks/{source}``, ``{id:int}``, ``{name?}``) as a regex."""
    parts = [part for part in (prefix.strip("/"), template.strip("/")) if part]
    regex = ""
    for segment in "/".join(parts).split("/"):
        match = re.fullmatch(r"\{(\w+)(?::(\w+))?(\?)?\}", segment)
        if match is None:
            regex += "/" + re.escape(segment)
            continue
        name, constraint, optional = match.groups()
        value = r"-?\d+" if constraint in {"int", "long"} else r"[^/]+"
        regex += rf"(?:/(?P<{name}>{value})){'?' if optional else ''}"
    return re.compile(regex or "/")


def find_function_app(module: ModuleType) -> Any:
    import azure.functions as func

    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if len(apps) != 1:
        raise SystemExit(f"function_app.py must define exactly one FunctionApp; found {len(apps)}")
    return apps[0]


def http_routes(functions: list[Any], route_prefix: str) -> list[HttpRoute]:
    routes = []
    for function in functions:
        for binding in json.loads(function.get_function_json())["bindings"]:
            if binding["type"] != "httpTrigger":
                continue
            template = binding.get("route") or function.get_function_name()
            methods = binding.get("methods")
            routes.append(
                HttpRoute(
                    function_name=function.get_function_name(),
                    pattern=route_pattern(template, route_prefix),
                    template=template,
                    methods=frozenset(m.upper() for m in methods) if methods else None,
                    auth_level=binding.get("authLevel", "FUNCTION"),
                    trigger_arg=binding["name"],
                    handler=function.get_user_function(),
                )
            )
    return routes


def route_prefix_from(host_json: Path) -> str:
    config = json.loads(host_json.read_text()) if host_json.is_file() else {}
    return str(config.get("extensions", {}).get("http", {}).get("routePrefix", "api"))


@dataclass(frozen=True)
class QueueSettings:
    """host.json extensions.queues, with the host's defaults."""

    batch_size: int = 16
    new_batch_threshold: int | None = None
    max_polling_interval_s: float = 60.0
    visibility_timeout_s: float = 0.0
    max_dequeue_count: int = 5

    @classmethod
    def from_host_json(cls, host_json: Path) -> QueueSettings:
        config = json.loads(host_json.read_text()) if host_json.is_file() else {}
        queues = config.get("extensions", {}).get("queues", {})
        return cls(
            batch_size=int(queues.get("batchSize", 16)),
            new_batch_threshold=queues.get("newBatchThreshold"),
            max_polling_interval_s=_timespan_s(queues.get("maxPollingInterval", "00:01:00")),
            visibility_timeout_s=_timespan_s(queues.get("visibilityTimeout", "00:00:00")),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
        )

    @property
    def concurrency(self) -> int:
        threshold = self.new_batch_threshold if self.new_batch_threshold is not None else self.batch_size // 2
        return self.batch_size + int(threshold)


def _timespan_s(text: str) -> float:
    hours, minutes, seconds = (float(part) for part in str(text).split(":"))
    return hours * 3600 + minutes * 60 + seconds


class QueuePoller:
    """Runs one queue-triggered function as the Functions host would."""

    def __init__(
        self,
        function_name: str,
        queue_name: str,
        connection_string: str,
        handler: Callable[..., Any],
        arg_name: str,
        settings: QueueSettings,
    ) -> None:
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

        def client(name: str) -> Any:
            return QueueClient.from_connection_string(
                connection_string,
                name,
                message_encode_policy=TextBase64EncodePolicy(),
                message_decode_policy=TextBase64DecodePolicy(),
            )

        self.function_name = function_name
        self.queue_name = queue_name
        self._queue = client(queue_name)
        self._poison = client(f"{queue_name}-poison")
        self._handler = handler
        self._arg_name = arg_name
        self._settings = settings
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"queue-{queue_name}", daemon=True)

    def start(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        for queue in (self._queue, self._poison):
            with contextlib.suppress(ResourceExistsError):
                queue.create_queue()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from concurrent.futures import ThreadPoolExecutor, wait

        idle_s = 0.1
        with ThreadPoolExecutor(self._settings.concurrency, thread_name_prefix=self.function_name) as pool:
            while not self._stopping.is_set():
                try:
                    # The host keeps a dequeued message invisible for 10 minutes while it runs.
                    batch = self._settings.batch_size
                    messages = list(
                        self._queue.receive_messages(
                            messages_per_page=batch, max_messages=batch, visibility_timeout=600
                        )
                    )
                except Exception as exc:
                    log.warning("polling %s failed: %s", self.queue_name, exc)
                    messages = []
                if not messages:
                    # Exponential back-off while idle, as the host does, up to maxPollingInterval.
                    self._stopping.wait(idle_s)
                    idle_s = min(idle_s * 2, self._settings.max_polling_interval_s)
                    continue
                idle_s = 0.1
                wait([pool.submit(self._invoke, message) for message in messages])

    def _invoke(self, message: Any) -> None:
        import azure.functions as func

        queue_message = func.QueueMessage(id=message.id, body=message.content.encode(), pop_receipt=message.pop_receipt)
        try:
            self._handler(**{self._arg_name: queue_message})
        except Exception:
            log.exception("function %s raised (dequeue %d)", self.function_name, message.dequeue_count)
            if message.dequeue_count >= self._settings.max_dequeue_count:
                self._poison.send_message(message.content)
                self._queue.delete_message(message)
                log.error("message %s moved to %s-poison", message.id, self.queue_name)
            else:
                self._queue.update_message(message, visibility_timeout=int(self._settings.visibility_timeout_s))
            return
        self._queue.delete_message(message)


def queue_pollers(functions: list[Any], environ: Mapping[str, str], settings: QueueSettings) -> list[QueuePoller]:
    pollers = []
    for function in functions:
        for binding in json.loads(function.get_function_json())["bindings"]:
            if binding["type"] != "queueTrigger":
                continue
            name = function.get_function_name()
            queue_name = re.sub(r"%(\w+)%", lambda m: environ.get(m.group(1), ""), binding["queueName"])
            connection = environ.get(binding.get("connection") or "AzureWebJobsStorage", "")
            if not queue_name or not connection:
                log.warning("queue function %s not polled: set %s and a storage connection string (Azurite: "
                            "UseDevelopmentStorage=true)", name, binding["queueName"])  # fmt: skip
                continue
            pollers.append(
                QueuePoller(name, queue_name, connection, function.get_user_function(), binding["name"], settings)
            )
    return pollers


class FunctionRequestHandler(BaseHTTPRequestHandler):
    routes: ClassVar[list[HttpRoute]] = []
    protocol_version = "HTTP/1.1"
    server_version = "mailhook-devserver"
    # Headers and body go out in two writes: with Nagle's algorithm the second waits for the
    # client's delayed ACK, 40 ms a request on loopback.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET  # noqa: N815 (http.server's names)

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) gets a route's 404 or 405 as from the host, not http.server's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        import azure.functions as func

        # The body is read whatever the answer: bytes left unread would be taken for the next request
        # on this keep-alive connection.
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        matched = [(route, m) for route in self.routes if (m := route.pattern.fullmatch(url.path))]
        if not matched:
            self._reply(404, b"", {})
            return
        allowed = [(route, m) for route, m in matched if route.methods is None or self.command in route.methods]
        if not allowed:
            self._reply(405, b"", {"Allow": ", ".join(sorted(set().union(*(r.methods or () for r, _ in matched))))})
            return
        route, match = allowed[0]
        request = func.HttpRequest(
            method=self.command,
            url=f"http://{self.headers.get('Host', 'localhost')}{self.path}",
            headers=dict(self.headers.items()),
            params=dict(parse_qsl(url.query, keep_blank_values=True)),
            route_params={k: v for k, v in match.groupdict().items() if v is not None},
            body=body,
        )
        try:
            response = route.handler(**{route.trigger_arg: request})
            if inspect.isawaitable(response):
                response = asyncio.run(response)  # type: ignore[arg-type]
        except Exception:
            # The host answers 500 for an unhandled exception; show the traceback like Core Tools.
            log.exception("function %s raised", route.function_name)
            self._reply(500, b"", {})
            return
        headers = dict(response.headers.items())
        if response.mimetype and "content-type" not in {h.lower() for h in headers}:
            headers["Content-Type"] = f"{response.mimetype}; charset={response.charset or 'utf-8'}"
        self._reply(response.status_code, response.get_body() or b"", headers)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    self._reply(413, b"", {"Connection": "close"})
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(413, b"", {"Connection": "close"})
            return None
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if headers.get("Connection") == "close":
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # The query string can hold a function key (?code=...): the access log shows the path only.
        line = (format % args).replace(self.path, urlsplit(self.path).path) if self.path else format % args
        log.info("%s %s", self.address_string(), line)


def serve(host: str, port: int, settings_file: Path) -> None:
    copied = load_local_settings(settings_file, os.environ)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import function_app

    prefix = route_prefix_from(ROOT / "host.json")
    # get_functions() may be called once only (a second call raises): index once, share the list.
    functions = find_function_app(function_app).get_functions()
    FunctionRequestHandler.routes = http_routes(functions, prefix)
    pollers = queue_pollers(functions, os.environ, QueueSettings.from_host_json(ROOT / "host.json"))
    server = ThreadingHTTPServer((host, port), FunctionRequestHandler)
    server.daemon_threads = True

    if copied:
        log.info("read %d setting(s) from %s", len(copied), settings_file.name)
    print(
        f"Mailhook dev server: http://{host}:{server.server_port}  (function keys are not checked, as with func start)"
    )
    for route in FunctionRequestHandler.routes:
        methods = ",".join(sorted(route.methods)) if route.methods else "any"
        print(f"  {route.function_name}: [{methods}] http://{host}:{server.server_port}/{prefix}/{route.template}")
    sys.stdout.flush()

    for poller in pollers:
        poller.start()
        print(f"  {poller.function_name}: [queue] {poller.queue_name}")
    sys.stdout.flush()

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        for poller in pollers:
            poller.stop()
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port (default: local.settings.json Host.LocalHttpPort or {DEFAULT_PORT})",
    )
    parser.add_argument("--settings", type=Path, default=ROOT / "local.settings.json", help="local settings file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port = args.port
    if port is None:
        host_settings = json.loads(args.settings.read_text()).get("Host", {}) if args.settings.is_file() else {}
        port = int(host_settings.get("LocalHttpPort", DEFAULT_PORT))
    serve(args.host, port, args.settings.resolve())


if __name__ == "__main__":
    main()
