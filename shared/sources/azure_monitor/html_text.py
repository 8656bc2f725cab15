"""Service health communications as plain text: Azure sends HTML made for its own mail."""

from __future__ import annotations

import urllib.parse
from html.parser import HTMLParser

from shared.sources.azure_monitor.values import http_url


class _TextExtractor(HTMLParser):
    """Service health ``communication`` HTML as plain text: tags dropped, blocks become lines.

    Only text is kept, never markup, so nothing in it can act as HTML when the template shows it
    (escaped) again. A link keeps its text, plus its address when the text does not show it.
    """

    _BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"})  # own paragraph
    _LINES = frozenset({"br", "li", "tr"})  # start a new line
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_depth = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BLOCKS or tag in self._LINES:
            self.chunks.append("\n• " if tag == "li" else "\n")
        elif tag == "a":
            self._href = next((value for key, value in attrs if key == "href" and value), None)
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BLOCKS:
            self.chunks.append("\n")
        elif tag == "a" and self._href:
            shown = "".join(self._link_text).strip()
            url = http_url(self._href)
            if url and url not in shown and urllib.parse.unquote(url) not in shown:
                self.chunks.append(f" ({url})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        self.chunks.append(data)
        if self._href is not None:
            self._link_text.append(data)


def html_to_text(markup: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    text = "".join(extractor.chunks).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    return "\n".join(paragraphs).strip()
