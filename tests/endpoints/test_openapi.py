"""GET /api/openapi.json: a valid OpenAPI 3.1 document that says what the endpoints really take and answer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

import function_app
from shared.addresses import check_address, check_single_line
from shared.endpoints.openapi import CACHE_CONTROL, ROUTE_PREFIX, handle_openapi, openapi_document, openapi_json
from shared.mail.draft import InvalidPayload, parse_mail_request
from shared.mail.graph_message import check_header_name
from shared.problems import FieldError, Problem
from shared.sources import SOURCES
from tests.helpers.app import DATA, reference_example
from tests.helpers.package import all_problem_classes

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = openapi_document()
OPERATIONS = {
    "mail": DOCUMENT["paths"]["/api/mail"]["post"],
    "hooks": DOCUMENT["paths"]["/api/hooks/{source}"]["post"],
    "health": DOCUMENT["paths"]["/api/health"]["get"],
    "openapi": DOCUMENT["paths"]["/api/openapi.json"]["get"],
}


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema validator for a schema taken from the document, its $refs resolved in the document."""
    return Draft202012Validator({**schema, "components": DOCUMENT["components"]})


def mail_body_validator() -> Draft202012Validator:
    return validator(OPERATIONS["mail"]["requestBody"]["content"]["application/json"]["schema"])


def readme_curl_bodies() -> list[Any]:
    """The JSON bodies of the README's curl examples for /api/mail."""
    readme = (ROOT / "README.md").read_text()
    bodies = re.findall(r"curl [^\n]*/api/mail [^\n]*-d '(\{.*?\})'\n", readme, flags=re.DOTALL)
    return [json.loads(body) for body in bodies]


def readme_error_statuses() -> set[int]:
    readme = (ROOT / "README.md").read_text()
    return {int(status) for status in re.findall(r"^\| (\d{3}) \| `", readme, flags=re.MULTILINE)}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.from_regex(r"[\w.+-]{1,10}@[\w-]{1,8}(\.[\w-]{1,5}){0,2}", fullmatch=True))
def test_the_schema_patterns_say_what_the_validators_check(text: str) -> None:
    """The patterns the contract gives for addresses, single lines and header names are the rules."""
    schemas = DOCUMENT["components"]["schemas"]
    checks = [
        (schemas["SimpleAddress"]["properties"]["address"], check_address),
        (schemas["InternetMessageHeader"]["properties"]["value"], check_single_line),
        (schemas["InternetMessageHeader"]["properties"]["name"], check_header_name),
    ]
    for schema, check in checks:
        try:
            valid = check(text) == text  # check_address trims blanks; the contract asks for none
        except ValueError:
            valid = False
        assert validator(schema).is_valid(text) == valid, (schema, check.__name__)


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)


def test_it_is_served_anonymously_built_once_and_cacheable() -> None:
    request = func.HttpRequest(method="GET", url="http://localhost:7071/api/openapi.json", headers={}, body=b"")
    response = handle_openapi(request)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == CACHE_CONTROL
    assert json.loads(response.get_body()) == DOCUMENT
    assert openapi_json() is openapi_json()


def test_the_document_describes_its_own_operation() -> None:
    operation = OPERATIONS["openapi"]
    assert operation["security"] == [], "anonymous, as function_app declares it"
    [response] = operation["responses"].values()
    validator(response["content"]["application/json"]["schema"]).validate(DOCUMENT)
    assert response["headers"]["Cache-Control"]["schema"] == {"const": CACHE_CONTROL}


def test_the_routes_documented_are_the_routes_function_app_declares() -> None:
    """Every HTTP function is an operation, with its method; nothing else is."""
    declared = {
        (f"{ROUTE_PREFIX}/{binding.route}", method.value.lower())
        for function in function_app.app.get_functions()
        for binding in function.get_bindings()
        if isinstance(binding, HttpTrigger)
        for method in binding.methods or ()
    }
    documented = {(path, method) for path, operations in DOCUMENT["paths"].items() for method in operations}
    assert documented == declared


def test_building_it_imports_neither_jinja2_nor_the_storage_sdks() -> None:
    script = (
        "import sys; import function_app; from shared.endpoints.openapi import openapi_json; openapi_json(); "
        "print([m for m in sys.modules if m.startswith(('jinja2', 'azure.storage', 'azure.data'))])"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_problem_status_is_documented() -> None:
    problem_statuses = {problem_class.status for problem_class in all_problem_classes()}
    assert problem_statuses >= {400, 401, 403, 404, 413, 415, 422, 429, 502, 503, 504}, "the walk found them all"
    assert readme_error_statuses() <= problem_statuses
    hook_statuses = {int(status) for status in OPERATIONS["hooks"]["responses"]}
    mail_statuses = {int(status) for status in OPERATIONS["mail"]["responses"]}
    assert problem_statuses <= hook_statuses
    # 404 is a webhook's unknown source or route; /api/mail has neither.
    assert problem_statuses - {404} <= mail_statuses
    assert hook_statuses - problem_statuses == {200, 202}
    assert mail_statuses - problem_statuses == {202}
    assert set(OPERATIONS["health"]["responses"]) == {"200", "503"}


def test_problem_answers_are_problem_documents() -> None:
    for operation in OPERATIONS.values():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], status


def test_every_problem_document_matches_the_problem_schema() -> None:
    problem_schema = validator(DOCUMENT["components"]["schemas"]["Problem"])
    for problem_class in all_problem_classes():
        # Built through Problem's own __init__: some subclasses take other arguments.
        problem = problem_class.__new__(problem_class)
        Problem.__init__(
            problem,
            "what went wrong",
            errors=[FieldError("to[0]", "not an address")],
            extra={"graphStatus": 403, "graphError": "ErrorAccessDenied", "graphRequestId": "r-1"},
        )
        problem_schema.validate(problem.to_document("request-1"))
        problem_schema.validate(problem.to_document(None))
    assert not problem_schema.is_valid({"type": "about:blank", "title": "x", "status": 400, "detail": "x"})


def test_hook_sources_are_the_adapters() -> None:
    [source] = [p for p in OPERATIONS["hooks"]["parameters"] if p["in"] == "path"]
    assert source["schema"]["enum"] == list(SOURCES)


def test_the_mail_body_is_the_graph_form_the_simplified_payload_or_a_bare_message() -> None:
    schema = OPERATIONS["mail"]["requestBody"]["content"]["application/json"]["schema"]
    graph_form, simple, bare = schema["oneOf"]
    assert (graph_form, simple) == (
        {"$ref": "#/components/schemas/SendMailRequest"},
        {"$ref": "#/components/schemas/SimpleMail"},
    )
    assert bare["allOf"] == [{"$ref": "#/components/schemas/Message"}]
    body_schema = mail_body_validator()
    example_5 = json.loads((DATA / "graph-sendmail-example-5.json").read_text())
    for body in (example_5, {"Message": {"subject": "s"}, "SaveToSentItems": False}):
        body_schema.validate(body)
        parse_mail_request(body)
    refused_bodies: list[dict[str, Any]] = [
        {"message": {}, "Message": {}},
        {"subject": "s", "to": "a@contoso.com", "toRecipients": []},
    ]
    for refused in refused_bodies:
        assert not body_schema.is_valid(refused)
        with pytest.raises(InvalidPayload):
            parse_mail_request(refused)


def test_the_readme_and_reference_examples_are_valid_bodies() -> None:
    examples = readme_curl_bodies()
    assert len(examples) == 2, "both README examples found"
    examples += [json.loads(reference_example(1)), json.loads(reference_example(2))]
    body_schema = mail_body_validator()
    for example in examples:
        body_schema.validate(example)
        parse_mail_request(example)  # and the app takes them too


@pytest.mark.parametrize(
    "body",
    [
        {"to": "ops@contoso.com", "subject": "one address for a list"},
        {"to": {"address": "ops@contoso.com", "name": "Ops"}, "cc": [], "subject": "one object for a list"},
        {"bcc": ["a@contoso.com", {"address": "b@contoso.com"}], "subject": "s", "importance": "HIGH"},
        {"subject": "no recipients: MAIL_DEFAULT_TO", "html": "<p>hi</p>", "text": None, "saveToSentItems": False},
        {"subject": "s", "attachments": [{"name": "a.txt", "content": "x", "contentBase64": None}]},
        {"subject": "s", "attachments": [{"name": "a.bin", "contentType": "application/zip", "contentBase64": "UEs="}]},
        {"message": {"subject": "s", "body": {"contentType": "HTML", "content": "x"}}, "saveToSentItems": True},
        {"to": "ops@contoso.com", "subject": "s", "from": "ceo@contoso.com", "sender": "assistant@contoso.com"},
    ],
)
def test_what_the_readme_field_table_allows_is_a_valid_body(body: Any) -> None:
    mail_body_validator().validate(body)
    parse_mail_request(body)


@pytest.mark.parametrize(
    "body",
    [
        {"to": "ops@contoso.com", "subject": "typo", "txt": "unknown field"},
        {"to": "ops@contoso.com"},
        {"to": 42, "subject": "not an address"},
        {"to": "ops@contoso.com", "subject": "s", "importance": "urgent"},
        {"to": "ops@contoso.com", "subject": "s", "saveToSentItems": "false"},
        {"to": "ops@contoso.com", "subject": "s", "headers": {f"X-H{i}": "v" for i in range(6)}},
        {"to": "ops@contoso.com", "subject": "s", "headers": {"Reply-To": "x@evil.example"}},
        {"to": "ops@contoso.com", "subject": "s", "headers": {"X-Job": "a\r\nBcc: victim@evil.example"}},
        {"to": "ops@contoso.com", "subject": "line\r\nbreak"},
        {"to": "ops@contoso.com", "subject": "s", "sender": "not an address"},
        {"to": "ops@contoso.com", "subject": "s", "sender": ["a@contoso.com"]},
        {"to": "not an address", "subject": "s"},
        {"to": ["ops@contoso.com", "a@b"], "subject": "s"},
        {"to": {"address": "ops@contoso.com", "name": "Ops\u2028Team"}, "subject": "s"},
        {"to": "ops@contoso.com", "subject": "s", "attachments": [{"content": "no name"}]},
        {"to": "ops@contoso.com", "subject": "s", "attachments": [{"name": "a.txt"}]},
        {
            "to": "ops@contoso.com",
            "subject": "s",
            "attachments": [{"name": "a", "content": "x", "contentBase64": "eA=="}],
        },
        {"to": "ops@contoso.com", "subject": "s", "text": "both", "html": "<p>both</p>"},
        {"message": {"subject": "s"}, "to": "mixed forms"},
        {"message": {"body": {"contentType": "markdown", "content": "x"}}},
        {"message": {"internetMessageHeaders": [{"name": "X-A"}]}},
        {"message": {"internetMessageHeaders": [{"name": "Reply-To", "value": "x"}]}},
        {"message": {"toRecipients": [{"emailAddress": {"address": "a@b.com; c@d.com"}}]}},
        {"message": {"subject": "s"}, "saveToSentItems": "maybe"},
        {"message": {"subject": "s", "isDraft": True}},
        {"message": {"subject": "s", "@odata.bind": "x"}},
        {"message": {"subject": "s", "internetMessageHeaders": [{"name": "x-a:b", "value": "v"}]}},
        ["not", "an", "object"],
    ],
)
def test_invalid_bodies_are_refused_by_the_schema_and_the_app(body: Any) -> None:
    assert not mail_body_validator().is_valid(body)
    with pytest.raises(InvalidPayload):
        parse_mail_request(body)


def test_every_stored_sender_payload_is_a_valid_hook_body() -> None:
    content = OPERATIONS["hooks"]["requestBody"]["content"]
    json_body = validator(content["application/json"]["schema"])
    payloads = sorted(path for source in SOURCES if (DATA / source).is_dir() for path in (DATA / source).glob("*.json"))
    assert payloads
    for path in payloads:
        json_body.validate(json.loads(path.read_text()))
    assert not json_body.is_valid([1, 2])
    form_body = validator(content["application/x-www-form-urlencoded"]["schema"])
    assert form_body.is_valid({"payload": "{}"})
    assert not form_body.is_valid({"text": "no payload field"})
