"""Per-message CPU in-process: the real function objects, real func.HttpRequests, the fake Graph on loopback.

For each payload: warm up (the first message fetches the token and compiles templates), then
``--rounds`` rounds of ``--messages`` messages. Two passes:

1. plain: the CPU time of this process (``time.process_time_ns``) and the wall time around each
   call of the user function. The fakes run in another process (bench/fake_services.py), so all
   of this process's CPU is the app's.
2. split: the same, with the steps of the request path wrapped in timers of the thread's CPU
   clock (exclusive time, so nested steps are not counted twice): intake, validate, map, render,
   policy, serialize, dedup, token, HTTP (our side of the keep-alive round trip: requests, urllib3,
   the socket) and endpoint (what is left: request id, limits, log lines, the 202 answer).

    python bench/per_message.py [--rounds 9] [--messages 60] [--payload simple ...] [--message-format json]

``--message-format`` is MAIL_MESSAGE_FORMAT: webhook mail as MIME (the default) or Graph's JSON.

The defaults stay under the recipient budget of one process (10,000 per mailbox and day).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import support

PHASES = ("intake", "validate", "map", "render", "policy", "serialize", "dedup", "token", "http", "endpoint")


class ExclusiveTimer:
    """Thread CPU per phase, each call's time minus that of the wrapped calls inside it."""

    def __init__(self) -> None:
        self.totals_ns: defaultdict[str, int] = defaultdict(int)
        self._stack: list[list[Any]] = []  # [phase, start_ns, nested_ns]

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [phase, time.thread_time_ns(), 0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.thread_time_ns() - frame[1]
                self._stack.pop()
                self.totals_ns[phase] += elapsed - frame[2]
                if self._stack:
                    self._stack[-1][2] += elapsed

        return timed

    def reset(self) -> None:
        self.totals_ns.clear()


def instrument(timer: ExclusiveTimer, runtime: Any) -> None:
    """Wrap the steps of both request paths. Bench-only monkeypatching: the app is not changed."""
    import shared.endpoints.hooks as hook_endpoint
    import shared.endpoints.mail as mail_endpoint
    from shared.mail.graph_message import SendMailRequest
    from shared.mail.simple import SimpleMail

    mail_endpoint.read_json = timer.wrap("intake", mail_endpoint.read_json)  # type: ignore[assignment]
    mail_endpoint.parse_mail_request = timer.wrap("validate", mail_endpoint.parse_mail_request)  # type: ignore[assignment]
    SimpleMail.to_graph = timer.wrap("map", SimpleMail.to_graph)  # type: ignore[method-assign]
    for name in ("read_body", "parse_hook_body"):
        setattr(hook_endpoint, name, timer.wrap("intake", getattr(hook_endpoint, name)))
    get_source = runtime.sources.get
    timed_sources: dict[str, Any] = {}

    class TimedSource:
        """A source whose verify and read are timed as intake and map (sources may be frozen)."""

        def __init__(self, source: Any) -> None:
            self.name = source.name
            self.verify = timer.wrap("intake", source.verify)
            self.read = timer.wrap("map", source.read)

    def timed_source(name: str) -> Any:
        if name not in timed_sources:
            timed_sources[name] = TimedSource(get_source(name))
        return timed_sources[name]

    runtime.sources.get = timed_source
    hook_endpoint.compose = timer.wrap("map", hook_endpoint.compose)  # type: ignore[assignment]
    runtime.renderer.render = timer.wrap("render", runtime.renderer.render)
    runtime.renderer.render_text = timer.wrap("render", runtime.renderer.render_text)
    runtime.policy.approve = timer.wrap("policy", runtime.policy.approve)
    SendMailRequest.to_json_bytes = timer.wrap("serialize", SendMailRequest.to_json_bytes)  # type: ignore[method-assign]
    runtime.transport.send = timer.wrap("http", runtime.transport.send)
    tokens = runtime.transport._tokens
    tokens.access_token = timer.wrap("token", tokens.access_token)
    idempotency = getattr(runtime.dispatcher, "_idempotency", None)  # deduplication of webhook redeliveries
    if idempotency is not None:
        for name in ("claim", "complete", "release"):
            setattr(idempotency, name, timer.wrap("dedup", getattr(idempotency, name)))


def one_round(
    handler: Callable[..., Any], payload: str, messages: int, timer: ExclusiveTimer | None
) -> dict[str, float]:
    """``messages`` sends of one payload: µs per message of thread CPU, wall time and each phase."""
    function = support.PAYLOADS[payload][0]
    requests = [support.http_request(function, body) for body in support.bodies(payload, messages, start=_next())]
    if timer is not None:
        timer.reset()
    cpu_ns = wall_ns = 0
    for request in requests:
        wall_start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
        response = handler(request)
        cpu_ns += time.process_time_ns() - cpu_start
        wall_ns += time.perf_counter_ns() - wall_start
        if response.status_code != 202 or b'"accepted"' not in response.get_body():
            raise SystemExit(f"{function} answered {response.status_code}: {response.get_body()[:300]!r}")
    result = {"cpu": cpu_ns / messages / 1000, "wall": wall_ns / messages / 1000}
    if timer is not None:
        result.update({phase: timer.totals_ns.get(phase, 0) / messages / 1000 for phase in PHASES})
    return result


def measure(
    handlers: dict[str, Callable[..., Any]],
    payloads: list[str],
    rounds: int,
    messages: int,
    timer: ExclusiveTimer | None,
) -> dict[str, dict[str, Any]]:
    """Rounds interleaved across payloads, so a burst of load from elsewhere touches them all alike."""
    samples: dict[str, list[dict[str, float]]] = {payload: [] for payload in payloads}
    for _ in range(rounds):
        for payload in payloads:
            handler = handlers[support.PAYLOADS[payload][0]]
            samples[payload].append(one_round(handler, payload, messages, timer))
    results: dict[str, dict[str, Any]] = {}
    for payload, rows in samples.items():
        result: dict[str, Any] = {
            "cpu_us": support.summary([row["cpu"] for row in rows]),
            "wall_us": support.summary([row["wall"] for row in rows]),
        }
        if timer is not None:
            result["phases_us"] = {phase: support.summary([row[phase] for row in rows])["median"] for phase in PHASES}
        results[payload] = result
    return results


_sent = 0


def _next() -> int:
    """A number no earlier delivery of this process used, for distinct webhook deliveries."""
    global _sent
    _sent += 10_000
    return _sent


@contextmanager
def wired_app(message_format: str) -> Iterator[tuple[dict[str, Callable[..., Any]], support.FakeServices]]:
    """The app's user functions, configured like a deployed bridge but sending to the fakes."""
    with support.FakeServices() as fakes:
        environment = support.app_environment(fakes.graph_base_url, fakes.identity_environment)
        support.use_environment({**environment, "MAIL_MESSAGE_FORMAT": message_format})
        support.worker_logging()
        yield support.http_functions(), fakes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--payload", action="append", choices=list(support.PAYLOADS))
    parser.add_argument("--message-format", choices=["mime", "json"], default="mime")
    args = parser.parse_args()
    payloads = args.payload or list(support.PAYLOADS)

    with wired_app(args.message_format) as (functions, fakes):
        from shared.runtime import current_runtime

        first: dict[str, float] = {}
        for name in payloads:
            function, _, _ = support.PAYLOADS[name]
            warm_up = [support.http_request(function, body) for body in support.bodies(name, 21, start=_next())]
            start = time.process_time_ns()
            response = functions[function](warm_up[0])
            first[name] = (time.process_time_ns() - start) / 1000
            assert response.status_code == 202, response.get_body()
            for request in warm_up[1:]:
                functions[function](request)
        results = measure(functions, payloads, args.rounds, args.messages, None)
        timer = ExclusiveTimer()
        instrument(timer, current_runtime())
        handlers = {name: timer.wrap("endpoint", handler) for name, handler in functions.items()}
        split = measure(handlers, payloads, args.rounds, args.messages, timer)
        for name in payloads:
            results[name]["split"] = split[name]
            results[name]["first_message_cpu_us"] = first[name]
        stats = fakes.stats()
    support.emit({"section": "per_message", "payloads": results, "fakes": stats})


if __name__ == "__main__":
    main()
