"""The README's "first five minutes", run as printed: its curl commands against the dev server.

A newcomer copies these first; if one of them stopped working, or the subject the README promises
changed, they would meet it before anything else.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.request
from pathlib import Path
from typing import Any

from tests.integrations.support import ROOT, running_bridge

README = ROOT / "README.md"


def first_steps() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Your first five minutes")
    return text[start : text.index("\n## ", start)]


def curl_commands(section: str) -> list[list[str]]:
    """Each ```sh block's curl commands as argv, as a shell reads them (quotes may span lines)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        pending = ""
        for line in re.sub(r"\\\n\s*", " ", block).splitlines(keepends=True):
            pending += line
            try:
                argv = shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on on the next line
                continue
            if argv and argv[0] == "curl":
                commands.append(argv)
            pending = ""
    return commands


def run_curl(argv: list[str], base_url: str) -> tuple[int, Any]:
    """The curl command's request, made with urllib (curl's -i, -H and -d only)."""
    url = next(arg for arg in argv if arg.startswith("http://localhost:7071")).replace(
        "http://localhost:7071", base_url
    )
    headers = dict(h.split(": ", 1) for h in (argv[i + 1] for i, arg in enumerate(argv) if arg == "-H"))
    data = next(argv[i + 1] for i, arg in enumerate(argv) if arg == "-d").encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 (loopback, above)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def test_the_first_mail_and_the_first_webhook_work_as_printed(tmp_path: Path) -> None:
    section = first_steps()
    mail, hook = curl_commands(section)
    default_to = re.search(r'"MAIL_DEFAULT_TO": "([^"]+)"', section)
    assert default_to is not None
    promised_subject = re.search(r"The mail's subject is `([^`]+)`", section)
    assert promised_subject is not None
    with running_bridge(tmp_path, MAIL_DEFAULT_TO=default_to.group(1), MAIL_ROUTES_FILE="") as bridge:
        status, answer = run_curl(mail, bridge.base_url)
        assert (status, answer["status"]) == (202, "accepted")
        assert bridge.sent(answer["requestId"])["message"]["subject"] == "Hello from Mailhook"
        status, answer = run_curl(hook, bridge.base_url)
        assert (status, answer["status"]) == (202, "accepted")
        sent = bridge.sent(answer["requestId"])["message"]
        assert sent["subject"] == promised_subject.group(1)
        assert [r["emailAddress"]["address"] for r in sent["toRecipients"]] == [default_to.group(1)]


def test_the_routes_file_it_names_has_the_route_it_uses() -> None:
    section = first_steps()
    routes_file = re.search(r'"MAIL_ROUTES_FILE":\s*"([^"]+)"', section)
    route = re.search(r"\?route=([\w.-]+)", section)
    assert routes_file is not None and route is not None
    assert route.group(1) in json.loads((ROOT / routes_file.group(1)).read_text(encoding="utf-8"))
    inline = re.search(r'`"MAIL_ROUTES": ("(?:[^"\\]|\\.)*")`', section)
    assert inline is not None
    assert isinstance(json.loads(json.loads(inline.group(1))), dict)  # a string holding a JSON object
