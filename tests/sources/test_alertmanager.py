"""Alertmanager webhook payloads (tests/data/alertmanager, built from the webhook_config docs) → Notification."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import urllib.parse
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.sources.alertmanager import to_notification
from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.notification import Link, Notification, Severity, Status
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, response_json


def payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "alertmanager" / f"{name}.json").read_text())
    return document


def adapt(document: Any) -> Notification:
    return to_notification(HookRequest(source="alertmanager", payload=document, headers={}))


def silence_filter(link: Link) -> str:
    """The matchers a Silence link pre-fills, decoded; the URL itself must carry no raw braces or quotes."""
    base, _, encoded = link.url.partition("/#/silences/new?filter=")
    assert base and encoded and not set('{}"<> ') & set(encoded), link.url
    return urllib.parse.unquote(encoded)


def test_single_firing_alert() -> None:
    notification = adapt(payload("firing-single"))
    assert notification.title == "[FIRING:1] DiskWillFillIn4Hours (/dev/sdb1 db-7.prod-eu:9100 node critical storage)"
    assert (notification.source, notification.status, notification.severity) == (
        "alertmanager",
        Status.FIRING,
        Severity.CRITICAL,
    )
    assert notification.summary == "Disk /dev/sdb1 on db-7 will fill within 4 hours"
    assert notification.description is not None and notification.description.startswith("Free space on /dev/sdb1")
    assert notification.facts == [("alertname", "DiskWillFillIn4Hours")], "the receiver is configuration, not news"
    assert notification.links == [Link("Alertmanager", "https://alertmanager.example.com")]
    assert (notification.truncated_alerts, notification.event) == (0, None)

    [alert] = notification.alerts
    assert (alert.name, alert.status, alert.severity) == ("DiskWillFillIn4Hours", Status.FIRING, Severity.CRITICAL)
    assert alert.summary == notification.summary
    assert alert.labels == {
        "device": "/dev/sdb1",
        "instance": "db-7.prod-eu:9100",
        "job": "node",
        "severity": "critical",
        "team": "storage",
    }
    assert alert.annotations == {}, "summary, description and runbook_url have their own places"
    assert alert.starts_at == dt.datetime(2024, 5, 14, 9, 21, 17, 482135, tzinfo=dt.UTC)
    assert alert.ends_at is None, "the zero time 0001-01-01T00:00:00Z means still firing"
    runbook, source, silence = alert.links
    assert runbook == Link("Runbook", "https://runbooks.example.com/storage/disk-will-fill")
    assert source.title == "Source" and source.url.startswith("https://prometheus.example.com/graph?g0.expr=")
    assert silence.title == "Silence" and silence.url.startswith("https://alertmanager.example.com/#/silences/new?")
    assert silence_filter(silence) == (
        '{alertname="DiskWillFillIn4Hours",device="/dev/sdb1",instance="db-7.prod-eu:9100",'
        'job="node",severity="critical",team="storage"}'
    )


def test_grouped_alerts_take_alertmanagers_subject_and_the_worst_severity() -> None:
    notification = adapt(payload("firing-grouped"))
    assert notification.title == "[FIRING:3] HighMemoryUsage (prod-eu)"
    assert notification.severity is Severity.CRITICAL
    assert [alert.severity for alert in notification.alerts] == [Severity.WARNING, Severity.CRITICAL, Severity.WARNING]
    assert notification.alerts[1].labels["instance"] == "<script>alert(1)</script>"
    # Alertmanager sends the receiver through Go's regexp.QuoteMeta ("platform\.pager").
    assert notification.facts == [("alertname", "HighMemoryUsage")], "no receiver row"
    assert notification.links == [Link("Alertmanager", "http://alertmanager.prod-eu.example.com:9093")]
    assert notification.summary == "Memory usage above 90% on prod-eu nodes"
    assert notification.description is None
    assert notification.alerts[0].description == "web-1:9100 uses 91.4% of its memory."


def test_subject_lists_alertname_first_then_the_other_labels_by_name() -> None:
    document = payload("firing-grouped")
    document["groupLabels"] = {"env": "prod-eu", "account": "shop", "alertname": "HighMemoryUsage"}
    document["commonLabels"] = {**document["groupLabels"], "Zone": "b", "team": "web"}
    assert adapt(document).title == "[FIRING:3] HighMemoryUsage shop prod-eu (b web)"
    assert adapt(document).facts[:3] == [("alertname", "HighMemoryUsage"), ("account", "shop"), ("env", "prod-eu")]


def test_a_firing_group_can_hold_resolved_alerts_and_say_how_many_were_left_out() -> None:
    notification = adapt(payload("firing-with-resolved"))
    assert notification.status is Status.FIRING
    assert notification.title == "[FIRING:1] TargetDown api (prod-eu)"
    assert notification.severity is Severity.ERROR, "the resolved alert was critical, but it no longer fires"
    assert notification.truncated_alerts == 2
    assert notification.description == "Targets of job api are down.", "commonAnnotations.message as description"
    still, over = notification.alerts
    assert (still.status, still.ends_at) == (Status.FIRING, None)
    assert (over.status, over.ends_at) == (Status.RESOLVED, dt.datetime(2024, 5, 14, 10, 19, 30, 500000, tzinfo=dt.UTC))
    assert (over.description, over.annotations) == ("Targets of job api are down.", {})
    assert [link.title for link in over.links] == ["Source", "Silence"]


def test_resolved_group() -> None:
    notification = adapt(payload("resolved"))
    assert (notification.status, notification.title) == (
        Status.RESOLVED,
        "[RESOLVED] HighMemoryUsage (prod-eu warning)",
    )
    assert notification.severity is Severity.WARNING, "a resolved group keeps the severity it had"
    assert [alert.ends_at for alert in notification.alerts] == [
        dt.datetime(2024, 5, 14, 8, 47, 11, 117000, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 14, 8, 51, 41, 117000, tzinfo=dt.UTC),
    ]


def test_a_firing_alerts_future_end_time_is_not_an_end() -> None:
    document = payload("firing-single")
    document["alerts"][0]["endsAt"] = "2099-01-01T00:00:00Z"
    assert adapt(document).alerts[0].ends_at is None


def test_other_annotations_stay_and_quotes_in_labels_cannot_break_the_silence_matchers() -> None:
    document = payload("firing-single")
    alert = document["alerts"][0]
    alert["labels"] = {"alertname": "Odd", "path": 'C:\\temp\\"x"'}
    alert["annotations"] = {"dashboard": "https://grafana.example.com/d/abc", "summary": "odd"}
    [read] = adapt(document).alerts
    assert read.annotations == {"dashboard": "https://grafana.example.com/d/abc"}
    assert silence_filter(read.links[-1]) == '{alertname="Odd",path="C:\\\\temp\\\\\\"x\\""}'


def test_dedup_key_is_stable_for_redeliveries_and_changes_with_any_alert() -> None:
    original = payload("firing-with-resolved")
    key = adapt(original).dedup_key
    assert key is not None and len(key) == 64 and int(key, 16) >= 0
    assert adapt(copy.deepcopy(original)).dedup_key == key

    reordered = copy.deepcopy(original)
    reordered["alerts"].reverse()
    assert adapt(reordered).dedup_key == key, "alert order is not identity"

    def changed(edit: Any) -> str | None:
        document = copy.deepcopy(original)
        edit(document)
        return adapt(document).dedup_key

    variants = {
        "group status": changed(lambda d: d.update(status="resolved")),
        "group key": changed(lambda d: d.update(groupKey='{}:{alertname="Other"}')),
        "an alert resolves": changed(lambda d: d["alerts"][0].update(status="resolved")),
        "an alert restarts": changed(lambda d: d["alerts"][1].update(startsAt="2024-05-14T11:00:00Z")),
        "another alert": changed(lambda d: d["alerts"][0].update(fingerprint="0000000000000000")),
    }
    assert key not in variants.values()
    assert len(set(variants.values())) == len(variants), variants


def test_lenient_with_missing_and_unknown_fields() -> None:
    notification = adapt({"alerts": [{"labels": {"replicas": 3, "nested": {"x": 1}}}], "future": {"field": True}})
    assert (notification.title, notification.status, notification.severity) == (
        "[FIRING:1] Alert",
        Status.FIRING,
        Severity.UNKNOWN,
    )
    [alert] = notification.alerts
    assert (alert.name, alert.labels, alert.links, alert.starts_at) == ("Alert", {"replicas": "3"}, [], None)
    assert (notification.links, notification.facts) == ([], [])
    assert notification.dedup_key is not None


@pytest.mark.parametrize(
    "document", [[], "alerts", None, {}, {"alerts": "x"}, {"alerts": []}, {"alerts": [1, "a", None]}]
)
def test_no_alerts_is_an_invalid_payload(document: Any) -> None:
    with pytest.raises(InvalidHookPayload):
        adapt(document)


def test_adapter_cpu_per_ten_alert_payload() -> None:
    document = payload("firing-grouped")
    document["alerts"] = [copy.deepcopy(document["alerts"][i % 3]) for i in range(10)]
    adapt(document)
    rounds = []
    for _ in range(10):  # this thread's CPU time, best round: other processes on a busy CI box do not count
        started = time.thread_time()
        for _ in range(20):
            adapt(document)
        rounds.append((time.thread_time() - started) / 20)
    assert min(rounds) < 1e-3, f"{min(rounds) * 1e6:.0f} µs per 10-alert payload"


def test_html_mail_through_the_hook_endpoint(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    routes = {
        "default": {"to": "oncall@contoso.com"},
        "platform": {"to": "platform@contoso.com", "cc": "sre@contoso.com"},
    }
    runtime = mi_runtime(MAIL_ROUTES=json.dumps(routes))
    response = handle_hook(hook_request("alertmanager", payload("firing-grouped"), route="platform"), runtime)
    assert response.status_code == 202, response.get_body()
    assert response_json(response)["status"] == "accepted"
    [sent] = graph.sent
    message = sent.message
    assert message["subject"] == "[FIRING:3] HighMemoryUsage (prod-eu)"
    assert message["toRecipients"] == [{"emailAddress": {"address": "platform@contoso.com"}}]
    assert message["ccRecipients"] == [{"emailAddress": {"address": "sre@contoso.com"}}]
    assert message["importance"] == "high", "a critical alert fires"
    html = message["body"]["content"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "3 more alert" not in html
    assert html.count(">Silence</a>") == 3


def test_truncated_alerts_are_mentioned_in_the_mail(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    assert handle_hook(hook_request("alertmanager", payload("firing-with-resolved")), runtime).status_code == 202
    body = graph.sent[0].message["body"]["content"]
    assert "2 more alerts of this group were not shown: left out by the sender" in body


def test_counts_include_the_alerts_max_alerts_left_out() -> None:
    """max_alerts keeps the first alerts (notify/webhook/webhook.go truncateAlerts); 2 sent + 3 cut = 5 firing."""
    notification = adapt(payload("firing-truncated"))
    assert notification.title.startswith("[FIRING:5] KubePodCrashLooping payments ")
    assert (notification.alert_count, notification.firing_count, notification.truncated_alerts) == (5, 2, 3)
    # With a resolved alert among the sent ones, how many of the others fire is unknown: not guessed.
    assert adapt(payload("firing-with-resolved")).title.startswith("[FIRING:1] ")


def test_subject_names_the_alerts_when_the_group_is_not_by_alertname() -> None:
    document = payload("firing-grouped")
    document["groupLabels"] = {"env": "prod-eu"}
    assert adapt(document).title == "[FIRING:3] HighMemoryUsage prod-eu"
    names = ["HighCPU", "DiskFull", "HighCPU", "OOMKilled"]
    for alert, name in zip(document["alerts"] + [copy.deepcopy(document["alerts"][0])], names, strict=True):
        alert["labels"]["alertname"] = name
    document["alerts"].append(copy.deepcopy(document["alerts"][0]))
    document["alerts"][-1]["labels"]["alertname"] = "OOMKilled"
    document["commonLabels"] = {"env": "prod-eu"}
    assert adapt(document).title == "[FIRING:4] HighCPU, DiskFull +1 more prod-eu"


def test_a_storm_shows_the_first_alerts_in_full_and_counts_the_rest() -> None:
    """Alertmanager's max_alerts way: the first MAX_ALERTS_SHOWN alerts, and the number of the others."""
    from shared.sources.alertmanager import MAX_ALERTS_SHOWN

    alerts = [
        {"status": "resolved" if index % 4 == 0 else "firing", "labels": {"alertname": f"A{index}"}}
        for index in range(MAX_ALERTS_SHOWN + 250)
    ]
    notification = adapt({"version": "4", "status": "firing", "truncatedAlerts": 7, "alerts": alerts})
    assert [alert.name for alert in notification.alerts] == [f"A{index}" for index in range(MAX_ALERTS_SHOWN)]
    assert notification.truncated_alerts == 250 + 7
    # The subject counts every firing alert sent, shown or not.
    assert notification.title.startswith(f"[FIRING:{(MAX_ALERTS_SHOWN + 250) * 3 // 4}]")


def test_a_storm_whose_hidden_alerts_change_in_number_is_a_new_notification() -> None:
    from shared.sources.alertmanager import MAX_ALERTS_SHOWN

    def storm(size: int) -> Notification:
        return adapt({"version": "4", "groupKey": "g", "alerts": [{"labels": {"n": str(i)}} for i in range(size)]})

    assert storm(MAX_ALERTS_SHOWN + 1).dedup_key == storm(MAX_ALERTS_SHOWN + 1).dedup_key
    assert storm(MAX_ALERTS_SHOWN + 1).dedup_key != storm(MAX_ALERTS_SHOWN + 2).dedup_key
