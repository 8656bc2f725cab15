"""Facts for the mail: what an alertContext reading adds, and generic flattening of unknown objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.sources.azure_monitor.html_text import html_to_text
from shared.sources.azure_monitor.values import MAX_FACT_CHARS, MAX_LIST_ITEMS, as_text, clip, http_url, label_of
from shared.sources.notification import Alert, Link

MAX_GENERIC_FACTS = 30


# Never printed: a caller's whole token (activity log ``claims``), or HTML made for Azure's own mail.
_NOISY_KEYS = frozenset({"claims", "impactedservicestablerows", "defaultlanguagecontent", "httprequest", "hierarchy"})


@dataclass
class ContextReading:
    """What an alertContext adds to the mail."""

    facts: list[tuple[str, str]]
    links: list[Link]
    alerts: list[Alert]
    sentence: str | None = None  # what happened, in words, when the rule has no description
    headline: str | None = None  # an event's own title (service and resource health)
    description: str | None = None  # longer text: a service health communication


class FactAdder:
    def __init__(self, facts: list[tuple[str, str]]) -> None:
        self._facts = facts

    def __call__(self, name: str, value: Any) -> None:
        text = as_text(value)
        if text:
            self._facts.append((name, clip(text, MAX_FACT_CHARS)))


def flatten(
    value: dict[str, Any],
    facts: list[tuple[str, str]],
    *,
    limit: int,
    prefix: str = "",
    depth: int = 0,
    skip: tuple[str, ...] = (),
    max_chars: int = MAX_FACT_CHARS,
) -> None:
    """Scalars of an object (and of the objects in it, two levels down) as facts, up to ``limit``."""
    for key, raw in value.items():
        if len(facts) >= limit:
            return
        name = f"{prefix}{key}"
        if str(key).lower() in _NOISY_KEYS or key in skip:
            continue
        if isinstance(raw, dict):
            if depth < 2:
                flatten(raw, facts, limit=limit, prefix=f"{name}.", depth=depth + 1, max_chars=max_chars)
        elif isinstance(raw, list):
            items = [text for item in raw[:MAX_LIST_ITEMS] if (text := as_text(item))]
            if items:
                facts.append((name, clip(", ".join(items), max_chars)))
        elif text := as_text(raw):
            if text.startswith("<") and ">" in text:  # HTML made for Azure's own mail (a communication)
                text = html_to_text(text)
            if text:
                facts.append((name, clip(text, max_chars)))


def links_in(value: dict[str, Any]) -> list[Link]:
    """Top-level fields named like links (``portalLink``, ``LinkToSearchResults``) that hold a web address."""
    links = []
    for key, raw in value.items():
        lowered = str(key).lower()
        if ("link" in lowered or "url" in lowered) and "api" not in lowered and (url := http_url(raw)):
            links.append(Link(label_of(key) or str(key), url))
    return links
