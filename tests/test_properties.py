"""Properties of the mapping from request bytes to the Graph request, checked with hypothesis.

1. Any valid simplified payload becomes a Graph request that Graph's rules accept.
2. For any JSON value in any field, of either form, the mapping answers with a Problem (a 4xx),
   never with another exception (which the host would turn into a 500); what it accepts obeys
   Graph's rules too.
3. The same holds for each webhook source, from its own payload with any field replaced.
4. Through the endpoints themselves (every source, both /api/mail forms): never a 5xx, no mail
   written when the answer is a 4xx, and each answer within a bounded time.

Payloads go through intake (JSON bytes → value) first, as they do in the endpoints: a JSON text can
hold what a Python value built by hand would not (an unpaired surrogate escape such as "\\udc00").
"""

from __future__ import annotations

import base64
import json
import re
import string
import time
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.addresses import MAX_RECIPIENTS
from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from shared.intake import parse_json
from shared.mail.draft import parse_mail_request
from shared.mail.graph_message import MAX_CUSTOM_HEADERS, MAX_GRAPH_REQUEST_BYTES, Message, SendMailRequest
from shared.mail.html_sanitizer import sanitize_html
from shared.mail.policy import MailPolicy
from shared.mail.simple import SimpleMail
from shared.mail.sizes import MAX_INLINE_ATTACHMENT_BYTES, too_large_for_send_mail
from shared.problems import Problem
from shared.runtime import Runtime, build_runtime
from shared.sources import SOURCES
from tests.helpers.app import DATA, hook_request, mail_request, settings_from

ALLOWED_SENDER = "alerts@contoso.com"
SETTINGS = settings_from(MAIL_DEFAULT_TO="oncall@contoso.com", MAIL_ALLOWED_SENDERS=ALLOWED_SENDER)
POLICY = MailPolicy(SETTINGS.policy)

# Graph's rules, written out here independently of the app's validators
# (https://learn.microsoft.com/graph/api/resources/message, https://learn.microsoft.com/graph/api/user-sendmail).
HEADER_NAME = re.compile(r"[Xx]-[A-Za-z0-9-]+")
LINE_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Strategies ---------------------------------------------------------------------------------

ATOM_CHARACTERS = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atoms = st.text(ATOM_CHARACTERS, min_size=1, max_size=8)
labels = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,6}[A-Za-z0-9])?", fullmatch=True)
addresses = st.builds(
    "{}@{}".format,
    st.lists(atoms, min_size=1, max_size=3).map(".".join),
    st.lists(labels, min_size=2, max_size=3).map(".".join),
)
# One line: anything but the characters that end or fake a header line; no lone surrogates either
# (a valid payload is valid UTF-8).
single_line = st.text(
    st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"], exclude_characters="\x85", include_characters="\t"),
    max_size=40,
)
mail_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
# Nothing that reads as an address: '"ceo@contoso.com" <attacker@evil.example>' is refused, and so
# are look-alike at-signs and bidirectional controls.
LOOK_ALIKES_AND_BIDI = set("<>@\uff20\ufe6b\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
display_names = single_line.filter(lambda name: not LOOK_ALIKES_AND_BIDI & set(name))


def _any_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
    )


@st.composite
def recipients_field(draw: st.DrawFn, pool: list[str]) -> Any:
    """One address, or a list of addresses and {address, name} objects, some repeated in another case."""

    def item(address: str) -> st.SearchStrategy[Any]:
        written = st.sampled_from([address, address.upper(), address.lower()])
        return written | st.fixed_dictionaries({"address": written}, optional={"name": display_names})

    chosen = draw(st.lists(st.sampled_from(pool), max_size=8))
    if len(chosen) == 1 and draw(st.booleans()):
        return chosen[0]
    return [draw(item(address)) for address in chosen]


file_names = single_line.filter(
    lambda name: (
        name.strip() not in {"", ".", ".."} and not {"/", "\\"} & set(name) and not LOOK_ALIKES_AND_BIDI & set(name)
    )
)
binary_attachments = st.builds(
    lambda name, data, wrap: {"name": name, "contentBase64": _wrapped(base64.b64encode(data).decode(), wrap)},
    file_names,
    st.binary(max_size=300),
    st.booleans(),
)
text_attachments = st.fixed_dictionaries(
    {"name": file_names, "content": mail_text}, optional={"contentType": st.just("text/csv")}
)


def _wrapped(text: str, wrap: bool) -> str:
    """base64 as the `base64` tool prints it, 76 characters a line."""
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76)) if wrap else text


@st.composite
def simple_mails(draw: st.DrawFn) -> dict[str, Any]:
    pool = draw(st.lists(addresses, min_size=1, max_size=12, unique_by=str.lower))
    mail: dict[str, Any] = {"subject": draw(single_line.filter(bool))}
    for field in ("to", "cc", "bcc", "replyTo"):
        if draw(st.booleans()):
            mail[field] = draw(recipients_field(pool))
    body_field = draw(st.sampled_from(["text", "html", None]))
    if body_field:
        mail[body_field] = draw(mail_text)
    optional: dict[str, st.SearchStrategy[Any]] = {
        "importance": st.sampled_from(["low", "normal", "high"]).flatmap(_any_case),
        "headers": st.dictionaries(
            st.from_regex(r"[Xx]-[A-Za-z0-9-]{1,12}", fullmatch=True).filter(
                lambda name: not name.lower().startswith(("x-mailhook-", "x-ms-exchange-"))
            ),
            single_line,
            max_size=MAX_CUSTOM_HEADERS,
        ).filter(lambda headers: len({name.lower() for name in headers}) == len(headers)),  # a name once, in any case
        "attachments": st.lists(binary_attachments | text_attachments, max_size=3),
        "saveToSentItems": st.booleans(),
        "from": st.just(ALLOWED_SENDER),
    }
    for field, values in optional.items():
        if draw(st.booleans()):
            mail[field] = draw(values)
    return mail


# Any JSON value, lone surrogates and NaN included: json.loads takes both. Hostile strings a fuzzer
# would take long to find on its own are drawn as often as random ones.
HOSTILE_STRINGS = [
    "\ud800",  # an unpaired surrogate: "\ud800" is valid JSON, and no UTF-8 can carry it
    "x\udc00y",
    "subject\r\nBcc: victim@example.com",
    "line\u2028separator",
    "nul\x00",
    "\ufeffbom",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    '"ceo@contoso.com" <attacker@evil.example>',
    "",
    " ",
    "\U0001d518\U0001d52b\U0001d526",  # outside the BMP: a surrogate pair in JSON escapes
]
strings = st.text(st.characters(exclude_categories=[]), max_size=12) | st.sampled_from(HOSTILE_STRINGS)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | strings,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(strings, children, max_size=4),
    max_leaves=12,
)


def field_names(model: type[Any]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def any_object(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of a model's fields and random ones, each holding any JSON value."""
    return st.dictionaries(st.sampled_from(keys) | strings, json_values, max_size=len(keys) + 2)


def paths_in(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in a JSON document that holds a value."""
    yield path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from paths_in(child, (*path, key))


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """The document with one or two of its values replaced by any JSON value, or a key added.

    Starting from a valid document reaches the checks deep inside it, past the first field that
    random documents fail on. A string is mostly replaced by another string, hostile characters
    included, so that the rest of the document can still be valid.
    """
    document = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 2))):
        paths = [path for path in paths_in(document) if path]
        if not paths:
            break
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        how = draw(st.sampled_from(["string for a string", "any value", "a new key"]))
        if how == "a new key" and isinstance(parent, dict):
            parent[draw(strings)] = draw(json_values)
        elif how == "string for a string" and isinstance(parent[path[-1]], str):
            parent[path[-1]] = draw(strings)
        else:
            parent[path[-1]] = draw(json_values)
    return document


def graph_form_of(mail: dict[str, Any]) -> Any:
    """A valid Graph-form body: what the bridge makes of a valid simplified payload."""
    return json.loads(graph_request_from(mail))


# Mostly valid payloads with a value or two replaced, and random objects of the model's fields.
simple_payloads = st.one_of(
    simple_mails().flatmap(mutated),
    simple_mails().flatmap(mutated),
    any_object(field_names(SimpleMail)) | json_values,
)
graph_payloads = st.one_of(
    simple_mails().map(graph_form_of).flatmap(mutated),
    simple_mails().map(graph_form_of).flatmap(mutated),
    st.builds(lambda message: {"message": message}, any_object(field_names(Message))),
)

# --- The Graph rules ------------------------------------------------------------------------------


def graph_request_from(payload: Any) -> bytes:
    """The request bytes' journey to a Graph request body: intake, mapping, policy."""
    body = json.dumps(payload).encode()  # \\u escapes for lone surrogates, as a client would send them
    return POLICY.approve(parse_mail_request(parse_json(body))).body


def assert_graph_accepts(body: bytes, *, unique_recipients: bool) -> dict[str, Any]:
    assert len(body) < MAX_GRAPH_REQUEST_BYTES
    message: dict[str, Any] = json.loads(body.decode("utf-8"))["message"]
    recipients = [
        recipient["emailAddress"]
        for field in ("toRecipients", "ccRecipients", "bccRecipients")
        for recipient in message.get(field, [])
    ]
    assert 1 <= len(recipients) <= MAX_RECIPIENTS
    if unique_recipients:
        assert len({r["address"].lower() for r in recipients}) == len(recipients)
    for email_address in recipients + [r["emailAddress"] for r in message.get("replyTo", [])]:
        assert ADDRESS.fullmatch(email_address["address"]), email_address
        assert not LINE_BREAKING.search(email_address.get("name", ""))
    headers = message.get("internetMessageHeaders", [])
    assert len(headers) <= MAX_CUSTOM_HEADERS
    for header in headers:
        assert HEADER_NAME.fullmatch(header["name"]), header
        assert not LINE_BREAKING.search(header["value"])
    for attachment in message.get("attachments", []):
        assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
        base64.b64decode(attachment["contentBytes"], validate=True)
        assert not {"/", "\\"} & set(attachment["name"])
    assert not LINE_BREAKING.search(message.get("subject", ""))
    return message


def assert_only_problems(payload: Any) -> None:
    try:
        body = graph_request_from(payload)
    except Problem as problem:
        assert 400 <= problem.status < 500, problem.to_document(None)
        return
    assert_graph_accepts(body, unique_recipients=False)


# --- Properties -------------------------------------------------------------------------------------


@FAST
@given(simple_mails())
def test_a_valid_simplified_payload_becomes_a_request_graph_accepts(mail: dict[str, Any]) -> None:
    message = assert_graph_accepts(graph_request_from(mail), unique_recipients=True)
    assert message["subject"] == mail["subject"]
    body_field = "html" if "html" in mail else "text"
    content = mail.get(body_field, "")
    if body_field == "html":  # a caller's HTML is sent sanitized (shared/mail/html_sanitizer.py)
        content = sanitize_html(content)
    assert message["body"] == {"contentType": body_field, "content": content}
    assert len(message.get("internetMessageHeaders", [])) == len(mail.get("headers", {}))
    for given_attachment, attachment in zip(mail.get("attachments", []), message.get("attachments", []), strict=True):
        sent = base64.b64decode(attachment["contentBytes"])
        if "content" in given_attachment:
            assert sent == given_attachment["content"].encode()
        else:
            assert sent == base64.b64decode(given_attachment["contentBase64"])


@settings(max_examples=15, deadline=None)
@given(simple_mails())
def test_the_mapped_request_is_what_validating_it_again_gives(mail: dict[str, Any]) -> None:
    # SimpleMail.to_graph builds the Graph models without validating them a second time: the
    # request it builds must be exactly the one Graph's model makes of its own JSON.
    request = SimpleMail.model_validate(parse_json(json.dumps(mail).encode())).to_graph()
    body = request.to_json_bytes()
    validated = SendMailRequest.model_validate_json(body)
    assert validated == request
    assert validated.to_json_bytes() == body


@given(st.integers(min_value=2_900_000, max_value=3_300_000))
def test_what_goes_by_sendmail_is_under_4_mb_and_the_rest_takes_a_draft(size: int) -> None:
    # Around both of Graph's limits: files under 3 MB inline, requests under 4 MB.
    mail = {"to": "ops@contoso.com", "subject": "big", "attachments": [{"name": "a.bin", "content": "x" * size}]}
    sent = POLICY.approve(parse_mail_request(parse_json(json.dumps(mail).encode())))
    if too_large_for_send_mail(sent):
        assert len(sent.body) >= MAX_GRAPH_REQUEST_BYTES or size >= MAX_INLINE_ATTACHMENT_BYTES
    else:
        assert len(sent.body) < MAX_GRAPH_REQUEST_BYTES and size < MAX_INLINE_ATTACHMENT_BYTES


# Hypothesis favours its simplest choices (the first field, the whole document), so a value deep in
# a payload is replaced less often than the rest: the likeliest places for a crash, and one breach
# of each Graph rule, are pinned here.
SIMPLE = {"to": "ops@contoso.com", "subject": "s"}
GRAPH = {"message": {"subject": "s", "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}]}}


@FUZZ
@given(simple_payloads)
@example({**SIMPLE, "text": "\udc00"})
@example({**SIMPLE, "html": "<p>\ud800</p>"})
@example({**SIMPLE, "headers": {"X-Job": "\ud800"}})
@example({**SIMPLE, "to": {"address": "ops@contoso.com", "name": "\ud800"}})
@example({**SIMPLE, "attachments": [{"name": "a.txt", "content": "\ud800"}]})
@example({**SIMPLE, "attachments": [{"name": "\ud800.txt", "content": "x"}]})
def test_any_json_in_the_simplified_payload_gets_a_problem_not_a_crash(payload: Any) -> None:
    assert_only_problems(payload)


@FUZZ
@given(graph_payloads)
@example({"message": {**GRAPH["message"], "body": {"contentType": "text", "content": "\ud800"}}})
@example({"message": {**GRAPH["message"], "categories": ["\ud800"]}})
@example({"message": {**GRAPH["message"], "attachments": [{"name": "a", "contentBytes": "not base64!"}]}})
@example({"message": {**GRAPH["message"], "internetMessageHeaders": [{"name": "Reply-To", "value": "x"}]}})
@example({"message": {**GRAPH["message"], "internetMessageHeaders": [{"name": "X-A", "value": "v"}] * 6}})
@example({"message": {**GRAPH["message"], "subject": "s\r\nBcc: victim@example.com"}})
def test_any_json_in_the_graph_form_gets_a_problem_not_a_crash(payload: Any) -> None:
    assert_only_problems(payload)


# --- Webhook sources --------------------------------------------------------------------------------


def stored_deliveries() -> list[tuple[str, dict[str, str], Any]]:
    """(source, headers, payload) of every delivery stored in tests/data, plus a Slack message."""
    deliveries: list[tuple[str, dict[str, str], Any]] = [
        ("slack", {}, {"text": "Backup failed", "attachments": [{"color": "danger", "fields": [{"title": "a"}]}]})
    ]
    for source in SOURCES:
        for path in sorted((DATA / source).glob("*.json")) if (DATA / source).is_dir() else ():
            # GitHub names the event in a header, Sentry the resource; their files are named after it:
            # <event or resource>.<action>...json. Each source ignores the other's header.
            named = path.name.split(".")[0]
            headers = {"X-GitHub-Event": named, "Sentry-Hook-Resource": named} if source in ("github", "sentry") else {}
            deliveries.append((source, headers, json.loads(path.read_text())))
    return deliveries


@st.composite
def mutated_deliveries(draw: st.DrawFn) -> tuple[str, dict[str, str], Any]:
    """A stored delivery with some of its values replaced by any JSON value."""
    source, headers, payload = draw(st.sampled_from(stored_deliveries()))
    return source, headers, draw(mutated(payload))


@pytest.fixture(scope="module")
def outbox_runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    outbox = tmp_path_factory.mktemp("outbox")
    settings = settings_from(
        MAIL_TRANSPORT="outbox",
        MAIL_OUTBOX_DIR=str(outbox),
        MAIL_DEFAULT_TO="oncall@contoso.com",
        MAIL_ALLOWED_SENDERS=ALLOWED_SENDER,
        MAIL_RATE_LIMIT_PER_MINUTE="0",  # one caller, hundreds of deliveries
        MAIL_ROUTES=json.dumps({"default": {"to": "oncall@contoso.com", "mapping": GENERIC_MAPPING}}),
    )
    return build_runtime(settings)


# What /api/hooks/generic reads the stored generic deliveries (Uptime Kuma, Datadog, Jenkins) by.
GENERIC_MAPPING = {
    "title": "{{ title or name or monitor.name or msg }}",
    "summary": "{{ body or heartbeat.msg }}",
    "status": "{{ alert_transition or build.status or heartbeat.status }}",
    "severity": "alert_type",
    "link": "{{ link or build.full_url or monitor.url }}",
    "dedupKey": "{{ id }}{{ build.number }}{{ heartbeat.time }}",
    "facts": {"Host": "hostname", "Tag": "monitor.tags.0.value", "Commit": "build.scm.commit"},
}


# Each example is a small body; a second is far more than any takes, even on a loaded machine.
# (tests/test_resource_bounds.py holds the bodies of the full 6 MB.)
MAX_SECONDS_PER_ANSWER = 2.0


def answered_within_bounds(answer: Callable[[], func.HttpResponse], runtime: Runtime) -> func.HttpResponse:
    """The endpoint's answer: never a 5xx, quick, and with no mail written when it is a 4xx."""
    outbox = runtime.settings.delivery.outbox_dir
    mailed_before = len(list(outbox.glob("*.eml")))
    started = time.perf_counter()
    response = answer()
    elapsed_s = time.perf_counter() - started
    assert response.status_code < 500, response.get_body()
    if response.status_code >= 400:
        assert len(list(outbox.glob("*.eml"))) == mailed_before, "a refused request was mailed"
    assert elapsed_s < MAX_SECONDS_PER_ANSWER, (elapsed_s, response.status_code)
    return response


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(delivery=mutated_deliveries())
@example(delivery=("slack", {}, {"text": "disk full on \ud800"}))
@example(delivery=("alertmanager", {}, {"alerts": [{"startsAt": "9999-12-31T23:00:00-02:00"}]}))
def test_any_json_in_a_webhook_gets_a_documented_answer_not_a_crash(
    outbox_runtime: Runtime, delivery: tuple[str, dict[str, str], Any]
) -> None:
    source, headers, payload = delivery
    response = answered_within_bounds(
        lambda: handle_hook(hook_request(source, json.dumps(payload), headers=headers), outbox_runtime),
        outbox_runtime,
    )
    assert response.status_code in {200, 202, 400, 413}, response.get_body()


@FUZZ
@given(payload=simple_payloads | graph_payloads)
@example(payload={**SIMPLE, "replyTo": [f"r{i}@contoso.com" for i in range(11)]})
@example(payload={**SIMPLE, "headers": {"X-Mailhook-Source": "github"}})
@example(payload={**SIMPLE, "to": {"address": "ops@contoso.com", "name": "ceo\uff20contoso.com"}})
def test_any_json_to_api_mail_gets_a_documented_answer_and_no_mail_when_refused(
    outbox_runtime: Runtime, payload: Any
) -> None:
    body = json.dumps(payload)
    response = answered_within_bounds(lambda: handle_mail(mail_request(body), outbox_runtime), outbox_runtime)
    assert response.status_code in {202, 400, 403, 413}, response.get_body()


def test_the_stored_deliveries_are_mailed_unchanged(outbox_runtime: Runtime) -> None:
    """The property above starts from deliveries the sources accept."""
    for source, headers, payload in stored_deliveries():
        response = handle_hook(hook_request(source, json.dumps(payload), headers=headers), outbox_runtime)
        assert response.status_code in {200, 202}, (source, response.get_body())
