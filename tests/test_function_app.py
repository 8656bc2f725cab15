"""Indexing as the Python worker does it: import function_app, exactly one FunctionApp, its bindings."""

import json
from typing import Any

import azure.functions as func
import pytest

import function_app


@pytest.fixture(scope="module")
def bindings() -> dict[str, list[dict[str, Any]]]:
    # get_functions() is not idempotent (a second call raises), so it is called once per module.
    return {
        str(function.get_function_name()): json.loads(function.get_function_json())["bindings"]
        for function in function_app.app.get_functions()
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


def test_every_mail_route_needs_a_key(bindings: dict[str, list[dict[str, Any]]]) -> None:
    http = {name: b for name, bs in bindings.items() for b in bs if b["type"] == "httpTrigger"}
    assert {"mail", "hooks"} <= set(http)
    for name, binding in http.items():
        expected = "ANONYMOUS" if name in ANONYMOUS else "FUNCTION"
        assert (name, binding["authLevel"]) == (name, expected)
        assert name in ANONYMOUS or binding["methods"] == ["POST"]


def test_deliver_is_the_queue_trigger_of_queue_mode(bindings: dict[str, list[dict[str, Any]]]) -> None:
    [trigger] = bindings["deliver"]
    assert trigger == {
        "direction": "IN",
        "type": "queueTrigger",
        "name": "msg",
        "queueName": "%MAIL_QUEUE_NAME%",
        "connection": "AzureWebJobsStorage",
    }
