"""Cold start: wall time of fresh processes, ours against the floor and against the peers.

Each command is a new interpreter, as the Python worker is on a new instance. Rounds run every
command once, in a shuffled order, so load from elsewhere falls on all of them alike; the ratio is
taken per round (ours ÷ floor of the same round) and as the ratio of the medians. Each process's
CPU time (user + system, from wait4) is kept beside its wall time: on a shared machine it moves
less with the others' load. Every side runs from bytecode (a first, untimed run of each command
writes it, PYTHONDONTWRITEBYTECODE or not): pip compiled the dependencies, and the floor is made
of them only, so ours compiled from source on every run would be a handicap no deployment has to
carry (README, "Performance").

- floor: ``import azure.functions, msal, requests, pydantic``, what the bridge cannot do without;
- ours: ``import function_app``, what the worker does when it indexes the app;
- peers (with ``--bench-python``): what a function app built on each peer imports to send mail;
- first message (``--first-message``): a fresh process that imports the app and answers one
  request sent on to the fake Graph, token fetch included: the cold start a caller waits for;
  against "floor first", the four dependencies getting one token and sending one mail by hand.

    python bench/cold_start.py [--rounds 20] [--bench-python .venv-bench/bin/python] [--first-message]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from typing import Any

import support

MARK_PREFIX = support.MARK_PREFIX
# Every command prints its mark when done, the import-only ones too (first_message.py by support.print_mark).
_MARK = f"; import sys, time; print('{MARK_PREFIX}', time.monotonic(), time.process_time())"
FLOOR = "import azure.functions, msal, requests, pydantic"
OURS = "import function_app"
# A function app that sends Graph mail with the SDK imports these before its first send.
MSGRAPH = (
    "import azure.functions; from azure.identity import ManagedIdentityCredential; "
    "from msgraph import GraphServiceClient, GraphRequestAdapter; "
    "from kiota_authentication_azure.azure_identity_authentication_provider import "
    "AzureIdentityAuthenticationProvider; "
    "from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody; "
    "from msgraph.generated.models.message import Message; from msgraph.generated.models.recipient import Recipient"
)
APPRISE = "import azure.functions; import apprise; from apprise.plugins.office365 import NotifyOffice365"


def run_once(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one fresh process running ``command``, up to its mark.

    Each command ends by printing ``MARK``: the system's monotonic clock and its own CPU time, once
    it has imported (or answered). That, not the process's exit, is what a caller waits for: the
    interpreter's teardown after it (freeing every module and object, a last garbage collection)
    cost the floor about 100 ms here, and freezing startup's objects out of the collector's sight
    (function_app.py) takes most of it away from ours; counting it would credit the teardown.
    The wall time runs from just before the process is started to its mark, CLOCK_MONOTONIC being
    one clock for all processes (https://docs.python.org/3/library/time.html#time.monotonic).
    """
    start = time.monotonic()
    completed = subprocess.run(  # noqa: S603 (our interpreters, our code)
        command, cwd=support.ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{completed.stdout}\n{completed.stderr}")
    marks = [line.split() for line in completed.stdout.splitlines() if line.startswith(MARK_PREFIX)]
    if not marks:
        raise SystemExit(f"{command[:3]} printed no mark:\n{completed.stdout}\n{completed.stderr}")
    _, monotonic_s, cpu_s = marks[-1]
    return (float(monotonic_s) - start) * 1000, float(cpu_s) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--python", default=sys.executable, help="the app's interpreter (default: this one)")
    parser.add_argument("--bench-python", help="the peers' interpreter (.venv-bench); peers are skipped without it")
    parser.add_argument("--first-message", action="store_true", help="also time import + first message")
    args = parser.parse_args()

    commands: dict[str, list[str]] = {
        "floor": [args.python, "-c", FLOOR + _MARK],
        "ours": [args.python, "-c", OURS + _MARK],
    }
    if args.bench_python:
        commands["msgraph-sdk"] = [args.bench_python, "-c", MSGRAPH + _MARK]
        commands["apprise"] = [args.bench_python, "-c", APPRISE + _MARK]
    environment = support.clean_environment({})
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # the untimed first runs write every side's bytecode

    fakes = None
    if args.first_message:
        fakes = support.FakeServices(entra=bool(args.bench_python))
        first = [str(support.BENCH / "first_message.py"), "--services", support.json.dumps(fakes.description)]
        commands["floor first"] = [args.python, *first, "--floor"]
        commands["floor first validated"] = [args.python, *first, "--floor", "--validated"]
        for payload in ("simple", "alertmanager-10"):
            commands[f"ours first {payload}"] = [args.python, *first, "--payload", payload]
        if args.bench_python:
            for peer in ("msgraph-sdk", "apprise"):
                commands[f"{peer} first"] = [args.bench_python, *first, "--peer", peer]

    try:
        for command in commands.values():  # bytecode written, files in the page cache
            run_once(command, environment)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        cpu_samples: dict[str, list[float]] = {name: [] for name in commands}
        shuffler = random.Random(6)  # noqa: S311 (an order, not a secret)
        for _ in range(args.rounds):
            order = list(commands)
            shuffler.shuffle(order)
            for name in order:
                wall_ms, cpu_ms = run_once(commands[name], environment)
                samples[name].append(wall_ms)
                cpu_samples[name].append(cpu_ms)
    finally:
        if fakes is not None:
            fakes.close()

    ours, floor = samples["ours"], samples["floor"]
    result: dict[str, Any] = {
        "section": "cold_start",
        "rounds": args.rounds,
        "wall_ms": {name: support.summary(values) for name, values in samples.items()},
        "cpu_ms": {name: support.summary(values) for name, values in cpu_samples.items()},
        "ratio_of_medians": statistics.median(ours) / statistics.median(floor),
        "ratio_per_round": support.summary([o / f for o, f in zip(ours, floor, strict=True)]),
        "commands": {
            name: command[-1].removesuffix(_MARK) if command[1] == "-c" else " ".join(command[1:2])
            for name, command in commands.items()
        },
    }
    if "floor first" in samples:
        # The cold start a caller waits for, against the four dependencies doing the same by hand.
        first_ours, first_floor = samples["ours first simple"], samples["floor first"]
        result["first_message_ratio_of_medians"] = statistics.median(first_ours) / statistics.median(first_floor)
        result["first_message_ratio_per_round"] = support.summary(
            [o / f for o, f in zip(first_ours, first_floor, strict=True)]
        )
        result["first_message_cpu_ratio_of_medians"] = statistics.median(
            cpu_samples["ours first simple"]
        ) / statistics.median(cpu_samples["floor first"])
        # Against the floor that validates with pydantic first: how much of ours is pydantic's.
        result["first_message_ratio_to_validated_floor"] = statistics.median(first_ours) / statistics.median(
            samples["floor first validated"]
        )
        result["first_message_cpu_ratio_to_validated_floor"] = statistics.median(
            cpu_samples["ours first simple"]
        ) / statistics.median(cpu_samples["floor first validated"])
        result["validated_floor_ratio"] = statistics.median(samples["floor first validated"]) / statistics.median(
            first_floor
        )
        # The webhook path's first mail (parse, route, render with Jinja2, send), for the record.
        result["first_hook_ratio_of_medians"] = statistics.median(
            samples["ours first alertmanager-10"]
        ) / statistics.median(first_floor)
    for peer in ("msgraph-sdk", "apprise"):
        if peer in samples:
            result.setdefault("peer_ratio_of_medians", {})[peer] = statistics.median(samples[peer]) / statistics.median(
                ours
            )
    support.emit(result)


if __name__ == "__main__":
    main()
