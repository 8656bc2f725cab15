#!/usr/bin/env python3
"""Local HTTP server for the function app, for machines without Azure Functions Core Tools.

It does what ``func start`` does for HTTP and queue triggers: reads ``local.settings.json`` Values
into the environment (the real environment wins), imports ``function_app``, indexes it the way the
Python worker does (exactly one FunctionApp), and serves the routes it declares under host.json's
route prefix by calling the real function objects with real ``func.HttpRequest`` objects. Like
Core Tools, it does not check function keys.

Settings: every value in ``Values`` must be a JSON string, as Core Tools requires and as Azure app
settings are. A value that is not (``MAIL_ROUTES`` pasted as a JSON object, a number, ``true``)
is refused at startup, naming the key and saying how to write it; nothing is converted, so the
same file works with ``func start``. At startup it prints a summary: the transport, the delivery
mode, the route names and the functions served; never a setting's value.

Queue-triggered functions run as the queue extension's listener runs them
(Azure/azure-sdk-for-net, ``sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/
Shared/Queues/QueueListener.cs``, ``QueueProcessor.cs``, ``QueuesOptions.cs``; host.json settings:
https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json):

- a dequeued message is leased (made invisible) for 10 minutes, whatever host.json says; while the
  function runs, the lease is renewed to 10 minutes at half-time (every 5 minutes; after a failed
  renewal, sooner: half the interval, at least 1 minute). After a crash the message reappears at
  most 10 minutes after its last renewal;
- ``batchSize`` messages are fetched at a time and run in parallel; a new batch is fetched as soon
  as the number still running drops to ``newBatchThreshold`` (default ``batchSize/2`` times the
  processor count, 1 on Consumption), so at most ``batchSize + newBatchThreshold`` run at once;
- ``visibilityTimeout`` is the delay before a *failed* message is retried; a message failing on
  its ``maxDequeueCount``-th dequeue, or dequeued more often than that (a crash mid-run), is moved
  to ``<queue>-poison``; success deletes it;
- an empty queue is polled with exponential back-off from 100 ms up to ``maxPollingInterval``.

They need a storage connection string (Azurite: ``UseDevelopmentStorage=true``); without one they
are not polled. The HTTP side listens with a backlog of 128 and answers 400, without reading a
body, to a Content-Length that is not a byte count.

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

# Connections the kernel queues while the accept loop is busy; http.server's default of 5 reset
# clients under a burst of 40.
LISTEN_BACKLOG = 128
# At most 18 digits: a byte count that fits a signed 64-bit integer, as the host parses it.
_CONTENT_LENGTH_RE = re.compile(r"[0-9]{1,18}")
_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_MAX_LINE = 65537

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


def read_settings_file(path: Path) -> dict[str, Any]:
    """local.settings.json as Core Tools reads it, or SystemExit saying in plain words what is wrong."""
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SystemExit(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("Values", {}), dict):
        raise SystemExit(f"{path.name}: Values must be a JSON object mapping setting names to strings.")
    problems = [_not_a_string(name, value) for name, value in document.get("Values", {}).items()]
    if any(problems):
        raise SystemExit(
            f"{path.name}: every value in Values must be a string, as Core Tools requires and as Azure app "
            "settings are.\n" + "\n".join(problem for problem in problems if problem)
        )
    return document


def _not_a_string(name: str, value: object) -> str:
    """How to fix a non-string value, without echoing an object's or array's contents."""
    if isinstance(value, str):
        return ""
    if isinstance(value, dict | list):
        kind = "a JSON object" if isinstance(value, dict) else "a JSON array"
        example = '"{\\"key\\": \\"value\\"}"' if isinstance(value, dict) else '"[\\"a\\", \\"b\\"]"'
        return (
            f"  Values.{name} is {kind}: write it as a JSON string, its inner quotes escaped, "
            f'e.g. "{name}": {example} (json.dumps of the {kind[7:]} gives that text).'
        )
    if value is None:
        return f'  Values.{name} is null: write "{name}": "" for an empty setting, or remove it.'
    kind = "true or false" if isinstance(value, bool) else "a number"
    return f'  Values.{name} is {kind}: write it as a string, "{name}": "{json.dumps(value)}".'


def load_local_settings(path: Path, environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Copy the file's Values into environ where not already set; return the names copied."""
    values = read_settings_file(path).get("Values", {})
    copied = []
    for name, value in values.items():
        if name not in environ:
            environ[name] = value
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


# The queue extension's fixed numbers (QueueListener.cs): a dequeued message is invisible for 10
# minutes, renewed at half-time while the function runs, never more often than every minute after a
# failed renewal; an empty queue is polled from 100 ms up to maxPollingInterval (QueuePollingIntervals.cs).
HOST_LEASE_S = 600.0
HOST_MIN_RENEWAL_S = 60.0
HOST_MIN_POLLING_S = 0.1
_MAX_BATCH_SIZE = 32  # QueuesOptions.MaxBatchSize: the storage service returns at most 32


@dataclass(frozen=True)
class QueueSettings:
    """host.json extensions.queues with the extension's defaults (QueuesOptions.cs), and the host's lease."""

    batch_size: int = 16
    new_batch_threshold: int | None = None  # None: batch_size // 2 * processor_count
    max_polling_interval_s: float = 60.0
    visibility_timeout_s: float = 0.0  # the delay before a failed message is retried
    max_dequeue_count: int = 5
    lease_s: float = HOST_LEASE_S  # not a host.json setting; tests shorten it
    processor_count: int = 1  # SkuUtility.cs: 1 on Consumption, else the machine's processors

    @classmethod
    def from_host_json(cls, host_json: Path, environ: Mapping[str, str]) -> QueueSettings:
        config = json.loads(host_json.read_text()) if host_json.is_file() else {}
        queues = config.get("extensions", {}).get("queues", {})
        dynamic_sku = environ.get("WEBSITE_SKU", "").lower() == "dynamic"
        threshold = queues.get("newBatchThreshold")
        settings = cls(
            batch_size=int(queues.get("batchSize", 16)),
            new_batch_threshold=None if threshold is None else int(threshold),
            max_polling_interval_s=_timespan_s(queues.get("maxPollingInterval", "00:01:00")),
            visibility_timeout_s=_timespan_s(queues.get("visibilityTimeout", "00:00:00")),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
            processor_count=1 if dynamic_sku else os.cpu_count() or 1,
        )
        # The extension refuses these at start too.
        if not 1 <= settings.batch_size <= _MAX_BATCH_SIZE:
            raise SystemExit(f"host.json: extensions.queues.batchSize must be 1 to {_MAX_BATCH_SIZE}")
        if settings.threshold < 0 or settings.max_dequeue_count < 1:
            raise SystemExit("host.json: extensions.queues: newBatchThreshold >= 0 and maxDequeueCount >= 1")
        if settings.max_polling_interval_s < HOST_MIN_POLLING_S:
            raise SystemExit("host.json: extensions.queues.maxPollingInterval must be at least 00:00:00.1")
        return settings

    @property
    def threshold(self) -> int:
        """Fetch a new batch when the number of messages still running drops to this."""
        if self.new_batch_threshold is not None:
            return self.new_batch_threshold
        return self.batch_size // 2 * self.processor_count

    @property
    def concurrency(self) -> int:
        return self.batch_size + self.threshold

    @property
    def renewal_interval_s(self) -> float:
        return self.lease_s / 2

    @property
    def min_renewal_interval_s(self) -> float:
        return min(HOST_MIN_RENEWAL_S, self.renewal_interval_s)

    def describe(self) -> str:
        return (
            f"batchSize {self.batch_size} + newBatchThreshold {self.threshold}: up to {self.concurrency} at once; "
            f"lease {self.lease_s:g} s, renewed every {self.renewal_interval_s:g} s; a failed message retried "
            f"after {self.visibility_timeout_s:g} s, poisoned after {self.max_dequeue_count} dequeues"
        )


def _timespan_s(text: str) -> float:
    hours, minutes, seconds = (float(part) for part in str(text).split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _lost_ownership(exc: Exception) -> bool:
    """The message is gone or someone else holds it (pop receipt mismatch, 404, 409): stop renewing."""
    return getattr(exc, "status_code", None) in {400, 404, 409}


class _Lease:
    """Keeps one running message invisible, as UpdateQueueMessageVisibilityCommand.cs does."""

    def __init__(self, queue: Any, message: Any, settings: QueueSettings) -> None:
        self.message_id: str = message.id
        self.pop_receipt: str = message.pop_receipt
        self._queue = queue
        self._settings = settings
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{message.id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        interval = self._settings.renewal_interval_s
        while not self._done.wait(interval):
            try:
                with self._lock:
                    receipt = self._queue.update_message(
                        self.message_id, pop_receipt=self.pop_receipt, visibility_timeout=int(self._settings.lease_s)
                    )
                    self.pop_receipt = receipt.pop_receipt
                interval = self._settings.renewal_interval_s
            except Exception as exc:
                if _lost_ownership(exc):
                    log.warning("lease on message %s lost: %s", self.message_id, exc)
                    return
                # Try again before it expires: half the interval, at least a minute (LinearSpeedupStrategy).
                interval = max(interval / 2, self._settings.min_renewal_interval_s)
                log.warning(
                    "renewing the lease on message %s failed, again in %g s: %s", self.message_id, interval, exc
                )


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
        self.settings = settings
        self._queue = client(queue_name)
        self._poison = client(f"{queue_name}-poison")
        self._handler = handler
        self._arg_name = arg_name
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
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        settings = self.settings
        delay_s = HOST_MIN_POLLING_S
        running: set[Future[None]] = set()
        with ThreadPoolExecutor(settings.concurrency, thread_name_prefix=self.function_name) as pool:
            while not self._stopping.is_set():
                try:
                    messages = list(
                        self._queue.receive_messages(
                            messages_per_page=settings.batch_size,
                            max_messages=settings.batch_size,
                            visibility_timeout=int(settings.lease_s),
                        )
                    )
                except Exception as exc:
                    log.warning("polling %s failed: %s", self.queue_name, exc)
                    messages = []
                if not messages:
                    # Exponential back-off while idle, as the host does, up to maxPollingInterval.
                    self._stopping.wait(delay_s)
                    delay_s = min(delay_s * 2, settings.max_polling_interval_s)
                    continue
                delay_s = HOST_MIN_POLLING_S
                running |= {pool.submit(self._process, message) for message in messages}
                # Not the whole batch: a new one as soon as the number running drops to the threshold.
                while len(running) > settings.threshold:
                    _, running = wait(running, return_when=FIRST_COMPLETED)

    def _process(self, message: Any) -> None:
        try:
            self._process_message(message)
        except Exception:
            log.exception("handling message %s of %s failed", message.id, self.queue_name)

    def _process_message(self, message: Any) -> None:
        import azure.functions as func

        settings = self.settings
        if message.dequeue_count > settings.max_dequeue_count:
            # Dequeued more often than allowed without an answer (a crash mid-run): poison, unrun.
            self._to_poison(message.id, message.pop_receipt, message.content)
            return
        queue_message = func.QueueMessage(id=message.id, body=message.content.encode(), pop_receipt=message.pop_receipt)
        failed = False
        with _Lease(self._queue, message, settings) as lease:
            try:
                self._handler(**{self._arg_name: queue_message})
            except Exception:
                failed = True
                log.exception("function %s raised (dequeue %d)", self.function_name, message.dequeue_count)
        if not failed:
            self._queue.delete_message(lease.message_id, pop_receipt=lease.pop_receipt)
        elif message.dequeue_count >= settings.max_dequeue_count:
            self._to_poison(lease.message_id, lease.pop_receipt, message.content)
        else:
            self._queue.update_message(
                lease.message_id, pop_receipt=lease.pop_receipt, visibility_timeout=int(settings.visibility_timeout_s)
            )

    def _to_poison(self, message_id: str, pop_receipt: str, content: str) -> None:
        self._poison.send_message(content)
        self._queue.delete_message(message_id, pop_receipt=pop_receipt)
        log.error(
            "message %s reached maxDequeueCount %d: moved to %s-poison",
            message_id,
            self.settings.max_dequeue_count,
            self.queue_name,
        )


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


class DevServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


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
        """The request body; or None once an error has been answered (the connection is then closed)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size_text = self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
                if not _CHUNK_SIZE_RE.fullmatch(size_text):
                    self._reply(400, b"", {"Connection": "close"})
                    return None
                size = int(size_text, 16)
                if size == 0:
                    while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    self._reply(413, b"", {"Connection": "close"})
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE)
            return b"".join(chunks)
        length = self._content_length()
        if length is None:
            # Not a byte count: nothing tells where the body ends, so it is not read (Kestrel: 400).
            self._reply(400, b"", {"Connection": "close"})
            return None
        if length > MAX_BODY_BYTES:
            self._reply(413, b"", {"Connection": "close"})
            return None
        return self.rfile.read(length) if length else b""

    def _content_length(self) -> int | None:
        """Content-Length as RFC 9110 section 8.6 has it (1*DIGIT; repeats must agree); 0 if absent; None if invalid."""
        values = {part.strip() for header in self.headers.get_all("Content-Length") or [] for part in header.split(",")}
        if not values:
            return 0
        if len(values) != 1:
            return None
        [text] = values
        if not _CONTENT_LENGTH_RE.fullmatch(text):
            return None
        return int(text)

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


def settings_summary(environ: Mapping[str, str]) -> list[str]:
    """Transport, delivery mode and route names, as the app reads them; setting names, never values."""
    transport = _choice(environ, "MAIL_TRANSPORT", "graph", {"graph", "outbox"})
    delivery = _choice(environ, "MAIL_DELIVERY", "direct", {"direct", "queue"})
    lines = [f"  transport: {transport}   delivery: {delivery}"]
    try:
        from shared.settings import SettingsError, load_settings

        routes = sorted(load_settings(environ).routes)
        lines.append(f"  routes: {', '.join(routes)}")
    except SettingsError as exc:
        names = ", ".join(sorted({problem.setting for problem in exc.problems}))
        lines.append(f"  settings to fix: {names} (GET /api/health says what is wrong)")
    except Exception as exc:  # the summary must never stop the server
        lines.append(f"  settings: not checked ({type(exc).__name__})")
    return lines


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: set[str]) -> str:
    value = (environ.get(name) or default).strip().lower()
    return value if value in allowed else f"invalid (see {name})"


def serve(host: str, port: int, settings_file: Path) -> None:
    copied = load_local_settings(settings_file, os.environ)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import function_app

    prefix = route_prefix_from(ROOT / "host.json")
    # get_functions() may be called once only (a second call raises): index once, share the list.
    functions = find_function_app(function_app).get_functions()
    FunctionRequestHandler.routes = http_routes(functions, prefix)
    pollers = queue_pollers(functions, os.environ, QueueSettings.from_host_json(ROOT / "host.json", os.environ))
    server = DevServer((host, port), FunctionRequestHandler)

    base = f"http://{host}:{server.server_port}"
    print(f"Mailhook dev server: {base}  (function keys are not checked, as with func start)")
    if copied:
        print(f"  {len(copied)} setting(s) read from {settings_file.name}")
    for line in settings_summary(os.environ):
        print(line)
    print("  functions:")
    for route in FunctionRequestHandler.routes:
        methods = ",".join(sorted(route.methods)) if route.methods else "any"
        print(f"    {route.function_name}: [{methods}] {base}/{prefix}/{route.template}")
    sys.stdout.flush()

    for poller in pollers:
        poller.start()
        print(f"    {poller.function_name}: [queue] {poller.queue_name} ({poller.settings.describe()})")
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
    # The storage SDK logs every request (URL and headers) at INFO; the host shows none of that.
    logging.getLogger("azure").setLevel(logging.WARNING)
    port = args.port
    if port is None:
        port = read_settings_file(args.settings).get("Host", {}).get("LocalHttpPort", DEFAULT_PORT)
        if not isinstance(port, int):
            raise SystemExit(f"{args.settings.name}: Host.LocalHttpPort must be a number")
    serve(args.host, port, args.settings.resolve())


if __name__ == "__main__":
    main()
