"""A storm digest: one mail naming every notification held for a route while its mailbox was at its limits.

The summary table comes first, one row per notification (status, severity, title, when, link), so
the reader sees the whole storm on one screen; then the notifications' own mails in full, as many
as fit under Graph's 4 MB request limit
(https://learn.microsoft.com/graph/api/resources/message, "The maximum request length supported
is 4MB"), the rest named in the summary only. Recipients and sender are those the held mails were
already approved for: a group holds one route's mails to one set of recipients from one mailbox.
Everything shown is escaped here or was rendered, escaped, by our own templates.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from shared.mail.digest_line import DigestLine
from shared.mail.graph_message import GraphSend, InternetMessageHeader, ItemBody, Message, SendMailRequest

# Graph refuses a request over 4 MB; JSON escaping of the HTML and the envelope need the rest.
MAX_DIGEST_BODY_BYTES = 3_400_000
_BODY_RE = re.compile(r"<body[^>]*>(?P<inner>.*)</body>", re.IGNORECASE | re.DOTALL)
_STATUS_COLOURS = {"firing": "#b42318", "resolved": "#067647", "info": "#175cd3"}
_CELL = "padding:4px 8px;border-bottom:1px solid #d0d5dd;text-align:left;vertical-align:top"


def compose_digest(mailbox: str, held: Sequence[tuple[DigestLine, SendMailRequest]]) -> GraphSend:
    """The digest of ``held`` (oldest first), from ``mailbox`` to the held mails' recipients."""
    lines = [line for line, _ in held]
    first = held[0][1].message
    route = lines[0].route
    firing = sum(1 for line in lines if line.status == "firing")
    resolved = sum(1 for line in lines if line.status == "resolved")
    counts = ", ".join(
        part for part in (f"{firing} firing" if firing else "", f"{resolved} resolved" if resolved else "") if part
    )
    subject = f"[DIGEST] {len(lines)} notifications on route {route}" + (f": {counts}" if counts else "")
    full = _full_entries([request for _, request in held])
    message = Message(
        subject=subject[:255],
        body=ItemBody(content_type="html", content=_document(subject, lines, full)),
        to_recipients=first.to_recipients,
        cc_recipients=first.cc_recipients,
        bcc_recipients=first.bcc_recipients,
        importance="high" if any(line.status == "firing" and line.severity == "critical" for line in lines) else None,
        internet_message_headers=[
            InternetMessageHeader(name="X-Mailhook-Source", value="digest"),
            InternetMessageHeader(name="X-Mailhook-Status", value="digest"),
        ],
    )
    request = SendMailRequest(message=message)
    return GraphSend(mailbox, request)


def _full_entries(requests: Sequence[SendMailRequest]) -> list[str]:
    """Each held mail's body, as HTML, while the total stays under the size limit."""
    entries: list[str] = []
    size = 0
    for request in requests:
        body = request.message.body
        if body is None:
            continue
        if body.is_html:
            match = _BODY_RE.search(body.content)
            fragment = match["inner"] if match else body.content
        else:
            fragment = f'<pre style="white-space:pre-wrap;font-family:monospace">{html.escape(body.content)}</pre>'
        # JSON escapes quotes, '<' and non-ASCII: count twice the length to stay safely below.
        size += 2 * len(fragment) + 200
        if size > MAX_DIGEST_BODY_BYTES:
            break
        entries.append(fragment)
    return entries


def _document(subject: str, lines: Sequence[DigestLine], full: Sequence[str]) -> str:
    rows = "".join(_summary_row(number, line) for number, line in enumerate(lines, 1))
    entries = "".join(
        f'<tr><td style="padding:16px 0 4px 0;font-weight:bold">{number}. {html.escape(line.title)}</td></tr>'
        f'<tr><td style="border:1px solid #d0d5dd;padding:8px">{fragment}</td></tr>'
        for number, (line, fragment) in enumerate(zip(lines, full, strict=False), 1)
    )
    rest = len(lines) - len(full)
    note = (
        f'<p style="color:#475467">{rest} more notification(s) are named in the summary above only: the mail '
        "would be too large with them in full.</p>"
        if rest
        else ""
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:0;padding:12px;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px">'
        f'<h1 style="font-size:18px;margin:0 0 8px 0">{html.escape(subject)}</h1>'
        '<p style="margin:0 0 12px 0;color:#475467">The sender mailbox reached its pace or daily budget, so these '
        "notifications were held and are sent together in this one mail.</p>"
        '<table role="presentation" style="border-collapse:collapse;width:100%;max-width:100%">'
        f'<tr><th style="{_CELL}">#</th><th style="{_CELL}">Status</th><th style="{_CELL}">Severity</th>'
        f'<th style="{_CELL}">Title</th><th style="{_CELL}">When</th></tr>{rows}</table>'
        f'<table role="presentation" style="border-collapse:collapse;width:100%;max-width:100%">{entries}</table>'
        f"{note}</body></html>"
    )


def _summary_row(number: int, line: DigestLine) -> str:
    colour = _STATUS_COLOURS.get(line.status, "#475467")
    title = html.escape(line.title)
    if line.link and line.link.startswith(("https://", "http://")):
        title = f'<a href="{html.escape(line.link, quote=True)}">{title}</a>'
    return (
        f'<tr><td style="{_CELL}">{number}</td>'
        f'<td style="{_CELL};color:{colour};font-weight:bold">{html.escape(line.status.upper())}</td>'
        f'<td style="{_CELL}">{html.escape(line.severity)}</td>'
        f'<td style="{_CELL};word-break:break-word">{title}</td>'
        f'<td style="{_CELL};white-space:nowrap">{html.escape(_when(line.at))}</td>'
        "</tr>"
    )


def _when(iso: str) -> str:
    """'2026-12-01T21:43:14+00:00' as every mail shows times: '2026-12-01 21:43:14 UTC'."""
    return iso.replace("T", " ").replace("+00:00", " UTC")
