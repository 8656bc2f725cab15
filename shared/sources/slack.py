"""Slack-compatible incoming-webhook bodies: ``text``, ``attachments`` and ``blocks``.

Many tools can only speak "Slack webhook"; this source reads what such a body says: the first
line becomes the subject, the rest the body, attachment fields a table, ``<url|label>`` links real
links. Formatting reference: Slack's "Formatting text for app surfaces" and the legacy
"Secondary message attachments" pages.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from shared.sources.auth import BearerTokenSource
from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.notification import Link, Notification, Severity, Status
from shared.sources.readers import require_object, text_of

if TYPE_CHECKING:
    from shared.sources.base import SourceSettings

# <https://example.com|label>, <https://example.com>, <!here>, <@U123>, <#C123|general>
_SLACK_REFERENCE_RE = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_COLOUR_SEVERITY = {"danger": Severity.ERROR, "warning": Severity.WARNING, "good": Severity.INFO}
# *bold* in mrkdwn; a mail shows the words, not the asterisks.
_BOLD_RE = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
# Alertmanager's slack_config title (template "slack.default.title", template/default.tmpl) starts
# with the group's state, which is the best status a Slack-format body has.
_STATE_PREFIX_RE = re.compile(r"^\[(FIRING(?::\d+)?|RESOLVED)\]", re.IGNORECASE)
# Slack itself truncates a message's text past 40,000 characters (chat.postMessage, "Truncating
# content": https://api.slack.com/methods/chat.postMessage); each text is cut there before its
# links are read, so 6 MB of "<url|label>" costs no 250,000 links.
MAX_TEXT_CHARS = 40_000
# Slack takes at most 50 blocks in a message (Block Kit, "Blocks": https://api.slack.com/block-kit)
# and 100 attachments; a list is read up to 100 items, so a million empty blocks cost no loop.
MAX_LIST_ITEMS = 100


def build(settings: SourceSettings) -> BearerTokenSource:
    """/api/hooks/slack: the bearer token when HOOK_BEARER_TOKEN is set."""
    return BearerTokenSource("slack", to_notification, settings.hook_auth.bearer_token)


def to_notification(request: HookRequest) -> Notification:
    payload = require_object(request.payload, "a Slack message")
    links: list[Link] = []
    titled_links: list[tuple[str, str]] = []  # an attachment's title_link, labelled once the subject is known
    paragraphs: list[str] = []
    facts: list[tuple[str, str]] = []
    header: str | None = None

    def read(text: Any) -> str | None:
        plain = _plain((text_of(text) or "")[:MAX_TEXT_CHARS], links)
        return plain or None

    if text := read(payload.get("text")):
        paragraphs.append(text)
    for block in _objects(payload.get("blocks")):
        block_text = block.get("text")
        if block.get("type") == "header" and isinstance(block_text, dict):
            header = header or read(block_text.get("text"))
        elif isinstance(block_text, dict) and (text := read(block_text.get("text"))):
            paragraphs.append(text)
        for element in _objects(block.get("fields")) + _objects(block.get("elements")):
            if text := read(element.get("text")):
                paragraphs.append(text)

    severity = Severity.UNKNOWN
    for attachment in _objects(payload.get("attachments")):
        severity = (
            severity
            if severity is not Severity.UNKNOWN
            else _COLOUR_SEVERITY.get(str(attachment.get("color", "")).lower(), Severity.UNKNOWN)
        )
        if text := read(attachment.get("pretext")):
            paragraphs.append(text)
        title = read(attachment.get("title"))
        if title:
            title_link = text_of(attachment.get("title_link"))
            if title_link:
                titled_links.append((title, title_link))
            paragraphs.append(title)
        if text := read(attachment.get("text")):
            paragraphs.append(text)
        for field in _objects(attachment.get("fields")):
            name, value = read(field.get("title")), read(field.get("value"))
            if name and value:
                facts.append((name, value))
        if not title and not attachment.get("text") and (fallback := read(attachment.get("fallback"))):
            paragraphs.append(fallback)
        if footer := read(attachment.get("footer")):
            paragraphs.append(footer)

    first = header or next((p for p in paragraphs if p.strip()), None)
    if first is None and not facts:
        raise InvalidHookPayload("The Slack message has no text, blocks or attachments to mail.")
    subject, _, rest = (first or facts[0][0]).strip().partition("\n")
    subject = subject.strip()
    if header is None and paragraphs and paragraphs[0].strip().startswith(subject):
        paragraphs[0] = rest.strip()
    # The sender's name (Alertmanager's slack_config sends "username": "Alertmanager"): the footer
    # credits it, and a title link that repeats the subject is labelled by it instead.
    sender = text_of(payload.get("username"))
    for title, url in titled_links:
        label = title if title != subject else f"Open in {sender}" if sender else "Open"
        links.append(Link(title=label, url=url))
    # Once is enough: the subject is the header; a paragraph repeating it is left out.
    paragraphs = [p for p in paragraphs if p.strip() != subject]
    state = _STATE_PREFIX_RE.match(subject)
    status = Status.INFO
    if state:
        status = Status.RESOLVED if state.group(1).upper() == "RESOLVED" else Status.FIRING
    return Notification(
        source=request.source,
        status=status,
        title=subject,
        severity=severity,
        description="\n\n".join(p for p in paragraphs if p) or None,
        facts=facts,
        links=links,
        sender=sender,
    )


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list, at most MAX_LIST_ITEMS of them."""
    return [item for item in value[:MAX_LIST_ITEMS] if isinstance(item, dict)] if isinstance(value, list) else []


def _plain(text: str | None, links: list[Link]) -> str:
    """Slack mrkdwn to plain text; each <url|label> is kept as its label and collected as a link."""
    if not text:
        return ""

    def replace(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("http://", "https://", "mailto:")):
            shown = label or target
            if target.startswith("http"):
                links.append(Link(title=html.unescape(shown), url=html.unescape(target)))
            return shown
        if target.startswith("!"):
            return "@" + (label or target[1:])
        if target.startswith(("@", "#")):
            return label or target
        return match.group(0)

    # Slack escapes only &, < and > in message text; undo it after the references are read.
    return html.unescape(_BOLD_RE.sub(r"\1", _SLACK_REFERENCE_RE.sub(replace, text))).strip()
