import json
from pathlib import Path
from typing import Any

import pytest

from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.notification import Link, Notification, Severity, Status
from shared.sources.slack import to_notification


def adapt(payload: Any) -> Notification:
    result = to_notification(HookRequest(source="slack", payload=payload, headers={}))
    assert isinstance(result, Notification)
    return result


def test_first_line_of_text_is_the_subject() -> None:
    notification = adapt({"text": "Deploy finished\nall 12 services healthy"})
    assert (notification.title, notification.description, notification.status) == (
        "Deploy finished",
        "all 12 services healthy",
        Status.INFO,
    )


def test_links_mentions_and_escapes_are_read() -> None:
    notification = adapt({"text": "<!here> build <https://ci.example/1|#1> failed &amp; <@U123> was paged &lt;3"})
    assert notification.title == "@here build #1 failed & @U123 was paged <3"
    assert notification.links == [Link("#1", "https://ci.example/1")]


def test_attachments_give_fields_colour_and_title_links() -> None:
    notification = adapt(
        {
            "attachments": [
                {
                    "color": "danger",
                    "pretext": "Alert from Zabbix",
                    "title": "CPU high on web-1",
                    "title_link": "https://zabbix.example/e/1",
                    "text": "load 12.3",
                    "fields": [{"title": "Host", "value": "web-1", "short": True}, {"title": "Empty"}],
                    "footer": "zabbix",
                }
            ]
        }
    )
    assert notification.title == "Alert from Zabbix"
    assert notification.severity is Severity.ERROR
    assert notification.facts == [("Host", "web-1")]
    assert notification.links == [Link("CPU high on web-1", "https://zabbix.example/e/1")]
    assert notification.description == "CPU high on web-1\n\nload 12.3\n\nzabbix"


def test_blocks_header_is_the_subject() -> None:
    notification = adapt(
        {
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Incident 42 opened"}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "*Service:* checkout"},
                    "fields": [{"type": "mrkdwn", "text": "*Sev:* 2"}],
                },
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened by pagerbot"}]},
                {"type": "divider"},
            ]
        }
    )
    assert notification.title == "Incident 42 opened"
    assert notification.description == "Service: checkout\n\nSev: 2\n\nopened by pagerbot", "mrkdwn bold dropped"


def test_fallback_is_used_when_an_attachment_has_nothing_else() -> None:
    assert adapt({"attachments": [{"fallback": "Disk full on db-2"}]}).title == "Disk full on db-2"


@pytest.mark.parametrize("payload", [{}, {"text": "  "}, {"blocks": "x", "attachments": [1]}, ["text"]])
def test_nothing_to_mail_is_invalid(payload: Any) -> None:
    with pytest.raises(InvalidHookPayload):
        to_notification(HookRequest(source="slack", payload=payload, headers={}))


def test_alertmanager_slack_config_names_its_sender_and_shows_its_title_once() -> None:
    """Alertmanager's slack_config with its default templates (template/default.tmpl): a title, a title
    link to the Alertmanager, a fallback repeating both, username "Alertmanager"."""
    payload = json.loads((Path(__file__).parents[1] / "data/slack/alertmanager-slack-config.json").read_text())
    notification = adapt(payload)
    assert notification.title == "[FIRING:2] HighMemoryUsage (prod-eu)"
    assert notification.status is Status.FIRING, "the state in the title"
    assert notification.sender == "Alertmanager"
    assert notification.description is None, "the title is not repeated as a paragraph"
    assert notification.links == [
        Link("Open in Alertmanager", "http://alertmanager.prod-eu.example.com:9093/#/alerts?receiver=slack-compat")
    ]


def test_a_resolved_title_is_resolved_and_other_titles_are_info() -> None:
    assert adapt({"attachments": [{"title": "[RESOLVED] DiskFull"}]}).status is Status.RESOLVED
    assert adapt({"text": "Deploy [FIRING] later"}).status is Status.INFO


def test_a_text_is_read_up_to_slacks_own_limit() -> None:
    from shared.sources.slack import MAX_TEXT_CHARS

    link = "<https://x.example/|a>"
    notification = adapt({"text": "Disk full\n" + link * (MAX_TEXT_CHARS // len(link) * 3)})
    assert len(notification.links) <= MAX_TEXT_CHARS // len(link)
    assert notification.description is not None and len(notification.description) <= MAX_TEXT_CHARS


def test_a_list_is_read_up_to_slacks_own_limits() -> None:
    from shared.sources.slack import MAX_LIST_ITEMS

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {n}"}} for n in range(MAX_LIST_ITEMS * 5)]
    notification = adapt({"text": "Deploy", "blocks": blocks})
    assert notification.description is not None
    assert f"line {MAX_LIST_ITEMS - 1}" in notification.description
    assert f"line {MAX_LIST_ITEMS}\n" not in notification.description + "\n"
