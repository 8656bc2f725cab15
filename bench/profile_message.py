"""Profile many sends of one payload with pyinstrument, to find what a message's CPU is spent on.

Not part of ``make bench``; ``make bench`` installs pyinstrument into .venv-bench, so:

    PYTHONPATH=.venv-bench/lib/python3.11/site-packages .venv/bin/python bench/profile_message.py simple
    (or: pip install pyinstrument into any folder on PYTHONPATH)

Prints the call tree of the calling thread (the fake servers' threads are not sampled) and writes
an HTML version next to it with ``--html``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import per_message
import support


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("payload", choices=list(support.PAYLOADS))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--interval-s", type=float, default=0.0001)
    parser.add_argument("--html", type=Path)
    args = parser.parse_args()

    from pyinstrument import Profiler

    function, _, _ = support.PAYLOADS[args.payload]
    body = support.body_of(args.payload)
    with per_message.wired_app("mime") as (functions, _):
        handler = functions[function]
        for _ in range(50):
            handler(support.http_request(function, body))
        requests = [support.http_request(function, body) for _ in range(args.messages)]
        profiler = Profiler(interval=args.interval_s, async_mode="disabled")
        profiler.start()
        for request in requests:
            handler(request)
        profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))
    if args.html:
        args.html.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
