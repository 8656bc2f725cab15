"""Indexing as the Python worker does it: import function_app, exactly one FunctionApp, its bindings.

The worker imports function_app once per process with the app settings in the environment, so each
mode is indexed in a fresh interpreter.
"""

import json
import os
import subprocess
import sys
from typing import Any

import azure.functions as func
import pytest

import function_app
from tests.helpers.app import is_app_setting
from tests.helpers.devserver import ROOT

_INDEX = (
    "import json, function_app; print(json.dumps({str(f.get_function_name()): json.loads(f.get_function_json())"
    "['bindings'] for f in function_app.app.get_functions()}))"
)


def index_with(**settings: str) -> dict[str, list[dict[str, Any]]]:
    environ = {name: value for name, value in os.environ.items() if not is_app_setting(name)}
    result = subprocess.run(
        [sys.executable, "-c", _INDEX], env={**environ, **settings}, cwd=ROOT, capture_output=True, check=True
    )
    indexed: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
    return indexed


@pytest.fixture(scope="module")
def bindings() -> dict[str, list[dict[str, Any]]]:
    return index_with(MAIL_DELIVERY="queue", AzureWebJobsStorage="UseDevelopmentStorage=true")


def test_direct_mode_declares_no_queue_trigger() -> None:
    # Core Tools will not start a non-HTTP trigger without AzureWebJobsStorage, which the sample
    # settings (direct mode, the outbox) leave empty.
    for settings in ({}, {"MAIL_DELIVERY": "direct"}, {"MAIL_DELIVERY": "Queue "}):
        indexed = index_with(**settings)
        expected = {"mail", "hooks", "health", "status", "openapi"} | (
            {"deliver"} if "Queue" in str(settings) else set()
        )
        assert set(indexed) == expected, settings
        queue_triggers = [b for bs in indexed.values() for b in bs if b["type"] == "queueTrigger"]
        assert bool(queue_triggers) == ("deliver" in expected)


def test_storage_declares_the_digest_flush_in_either_mode() -> None:
    # Digests need storage to hold notifications in, so the flush exists exactly when storage does.
    for storage in (
        {"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
        {"AzureWebJobsStorage__accountName": "mailhookdata"},
    ):
        for mode in ("direct", "queue"):
            indexed = index_with(MAIL_DELIVERY=mode, **storage)
            assert "flush_digests" in indexed, (storage, mode)
            assert ("deliver" in indexed) == (mode == "queue")
    assert "flush_digests" not in index_with(AzureWebJobsStorage=" ")


def test_flush_digests_reads_the_digest_queue(bindings: dict[str, list[dict[str, Any]]]) -> None:
    [trigger] = bindings["flush_digests"]
    assert trigger == {
        "direction": "IN",
        "type": "queueTrigger",
        "name": "msg",
        "queueName": "mailhook-digests",
        "connection": "AzureWebJobsStorage",
    }


def test_module_holds_exactly_one_function_app() -> None:
    registers = [value for value in vars(function_app).values() if isinstance(value, func.FunctionRegister)]
    assert registers == [function_app.app]


def test_mail_route_is_post_with_a_function_key(bindings: dict[str, list[dict[str, Any]]]) -> None:
    trigger = bindings["mail"][0]
    assert trigger == {
        "direction": "IN",
        "type": "httpTrigger",
        "name": "req",
        "methods": ["POST"],
        "authLevel": "FUNCTION",
        "route": "mail",
    }


def test_health_route_is_anonymous_get(bindings: dict[str, list[dict[str, Any]]]) -> None:
    trigger = bindings["health"][0]
    assert (trigger["methods"], trigger["authLevel"], trigger["route"]) == (["GET"], "ANONYMOUS", "health")


# Documents about the bridge, never a way to send: the only routes without a function key.
ANONYMOUS = {"health", "openapi"}
# Reads that name mailboxes: a function key, as for sending.
KEYED_READS = {"status"}


def test_every_mail_route_needs_a_key(bindings: dict[str, list[dict[str, Any]]]) -> None:
    http = {name: b for name, bs in bindings.items() for b in bs if b["type"] == "httpTrigger"}
    assert {"mail", "hooks"} <= set(http)
    for name, binding in http.items():
        expected = "ANONYMOUS" if name in ANONYMOUS else "FUNCTION"
        assert (name, binding["authLevel"]) == (name, expected)
        assert name in ANONYMOUS or binding["methods"] == ["POST"] or name in KEYED_READS


def test_deliver_is_the_queue_trigger_of_queue_mode(bindings: dict[str, list[dict[str, Any]]]) -> None:
    [trigger] = bindings["deliver"]
    assert trigger == {
        "direction": "IN",
        "type": "queueTrigger",
        "name": "msg",
        "queueName": "%MAIL_QUEUE_NAME%",
        "connection": "AzureWebJobsStorage",
    }


_BROKEN_BUILD = """
import json, sys
sys.modules["pydantic"] = None  # as if requirements.txt never installed it: importing it fails
import azure.functions as func
import function_app
answers = {}
for name, route in (("health", "health"), ("mail", "mail"), ("hooks", "hooks/alertmanager")):
    method = "GET" if name == "health" else "POST"
    request = func.HttpRequest(method=method, url="http://localhost/api/" + route, body=b"{}", headers={})
    response = getattr(function_app, name).build().get_user_function()(request)
    answers[name] = [response.status_code, response.mimetype, json.loads(response.get_body())]
print(json.dumps(answers))
"""


def test_a_build_missing_a_dependency_answers_503_naming_it() -> None:
    environ = {name: value for name, value in os.environ.items() if not is_app_setting(name)}
    result = subprocess.run(
        [sys.executable, "-c", _BROKEN_BUILD], env=environ, cwd=ROOT, capture_output=True, text=True, check=True
    )
    for name, (status, mimetype, document) in json.loads(result.stdout).items():
        assert (status, mimetype) == (503, "application/problem+json"), name
        assert (document["code"], document["module"]) == ("build_incomplete", "pydantic"), name
        assert document["requestId"] and "requirements.txt" in document["detail"]
