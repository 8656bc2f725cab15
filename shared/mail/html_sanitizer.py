"""A caller's HTML body, sanitized: what mail clients render, without what phishing and tracking use.

/api/mail sends HTML a caller wrote from our mailbox, so it is passed through nh3 (the binding of
the Rust crate ammonia, a maintained allow-list sanitizer: https://nh3.readthedocs.io,
https://docs.rs/ammonia) before it leaves. What is kept is what report mails are made of: text
markup, tables with their layout attributes, images, links, inline ``style`` limited to layout and
typography properties. What is dropped: event handlers (``onclick``), ``<iframe>`` (``srcdoc``),
``<form>``, ``<meta http-equiv=refresh>``, ``<style>`` blocks, comments, and every link or image
URL but ``http(s):``, ``mailto:`` and ``cid:`` (inline attachments), so no ``javascript:`` and no
``data:``. A ``<script>`` is refused outright, before this (see graph_message.has_script_element),
but for an Outlook Actionable Message's card, ``<script type="application/adaptivecard+json">``
(https://learn.microsoft.com/outlook/actionable-messages/adaptive-card): a data block no client runs.
Its JSON is kept, in a ``<script>`` element of our own writing, in the ``<head>`` where Outlook
reads it; a ``<`` in it is written ``\u003c`` (the same JSON value), so nothing in it can close the
element or open another one.

nh3 is imported on the first HTML body, not at start, to keep it off the cold-start path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.mail.graph_message import ADAPTIVE_CARD_ATTRIBUTES_RE, ADAPTIVE_CARD_TYPE, is_html_item_body

# A script element up to its end tag, as an HTML tokenizer ends script data at the first "</script".
_SCRIPT_ELEMENT_RE = re.compile(r"<\s*script\b([^>]*)>(.*?)</\s*script\s*>", re.IGNORECASE | re.DOTALL)

# Beyond ammonia's default tags (nh3.ALLOWED_TAGS): what older HTML mail generators still emit.
_EXTRA_TAGS = {"font", "tfoot"}
# Elements dropped with their content: a <title> or <style> left as text would show as text.
_DROPPED_WITH_CONTENT = {"script", "style", "title", "head"}
# Layout attributes that HTML mail relies on (Outlook's Word engine ignores most CSS).
_LAYOUT_ATTRIBUTES = {"style", "align", "valign", "width", "height", "bgcolor", "dir", "lang", "title"}
_EXTRA_ATTRIBUTES = {
    "table": {"border", "cellpadding", "cellspacing", "role"},
    "td": {"nowrap"},
    "th": {"nowrap"},
    "font": {"color", "face", "size"},
}
_URL_SCHEMES = {"http", "https", "mailto", "cid"}
# CSS properties kept in style attributes: colour, type, box and table layout. Not kept:
# position (overlays that hide the real content), background-image and every other url() (tracking
# and CSS injection), behavior/expression (old Internet Explorer script hooks).
_STYLE_PROPERTIES = {
    "color", "background-color", "background", "font", "font-family", "font-size", "font-style", "font-weight",
    "line-height", "letter-spacing", "text-align", "text-decoration", "text-transform", "text-indent",
    "vertical-align", "white-space", "word-break", "word-wrap", "overflow-wrap", "direction",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
    "border-width", "border-radius", "border-collapse", "border-spacing",
    "width", "min-width", "max-width", "height", "min-height", "max-height", "display", "list-style-type",
}  # fmt: skip


def sanitize_html(html: str) -> str:
    import nh3

    cards: list[str] = []

    def take_card(element: re.Match[str]) -> str:
        if ADAPTIVE_CARD_ATTRIBUTES_RE.fullmatch(element[1]) is None or not _is_json(element[2]):
            return element[0]  # left to nh3, which drops it with its content
        cards.append(element[2].replace("<", "\\u003c"))
        return ""

    if "<" in html and "script" in html.lower():
        html = _SCRIPT_ELEMENT_RE.sub(take_card, html)
    cleaned = str(nh3.clean(html, **_options(nh3)))
    if not cards:
        return cleaned
    head = "".join(f'<script type="{ADAPTIVE_CARD_TYPE}">{card}</script>' for card in cards)
    return f"<html><head>{head}</head><body>{cleaned}</body></html>"


def sanitize_embedded_html(value: Any) -> Any:
    """An item attachment's item with every HTML itemBody in it sanitized, at any depth.

    An embedded message or event is shown as a message is (Outlook opens it in a reading pane), so
    its HTML, and that of the items attached to it in turn, obeys the same rules as the message's
    own body. Validation bounded the depth (graph_message.MAX_EMBEDDED_DEPTH). Only the objects on
    the way to a changed body are copied: the rest, file attachments' base64 included, is shared.
    """
    if isinstance(value, list):
        cleaned_list = [sanitize_embedded_html(element) for element in value]
        return cleaned_list if any(a is not b for a, b in zip(cleaned_list, value, strict=True)) else value
    if not isinstance(value, dict):
        return value
    if is_html_item_body(value):
        return {**value, "content": sanitize_html(value["content"])}
    cleaned = {key: sanitize_embedded_html(element) for key, element in value.items()}
    return cleaned if any(cleaned[key] is not element for key, element in value.items()) else value


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _options(nh3: Any) -> dict[str, Any]:
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = attributes.get("*", set()) | _LAYOUT_ATTRIBUTES
    for tag, names in _EXTRA_ATTRIBUTES.items():
        attributes[tag] = attributes.get(tag, set()) | names
    return {
        "tags": set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS,
        "clean_content_tags": _DROPPED_WITH_CONTENT,
        "attributes": attributes,
        "url_schemes": _URL_SCHEMES,
        "filter_style_properties": _STYLE_PROPERTIES,
        "strip_comments": True,
    }
