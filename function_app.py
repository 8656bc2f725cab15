"""Azure Functions entry point (Python v2 model): routes only; every step lives in shared/.

Each function imports its handler on its first call, not here: the worker imports this module on
every cold start before it can answer anything, and what the handlers bring (pydantic's model
machinery and our models, MSAL, the webhook sources, queue mode) is wanted by one route only, or
by none until a request comes (bench/results.md, "Cold start").
"""

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

import azure.functions as func

# Startup makes tens of thousands of objects that live as long as the process (modules, classes,
# pydantic's schemas, MSAL's client), and the cyclic garbage collector walks them again and again
# while they are made: about fifty collections between indexing and the first answer, some 10 ms of
# CPU here (bench/results.md, "Cold start"), finding no garbage. It is paused from here (azure.functions
# is the worker's own import) until the first invocation has answered; then what startup made is
# moved out of its sight for good, so later full collections skip it too, and it runs as usual
# (https://docs.python.org/3/library/gc.html#gc.freeze).
gc.disable()
_starting = True


@contextmanager
def invocation() -> Iterator[None]:
    """Around each function's work: the end of the first one ends startup (the collector runs again)."""
    global _starting
    try:
        yield
    finally:
        if _starting:
            _starting = False
            gc.freeze()
            gc.enable()


# pydantic looks for plugins in every installed distribution's entry points before it builds its
# first model: milliseconds of the first request, for plugins this app does not use. Set the
# variable to an empty value to have them loaded
# (https://docs.pydantic.dev/latest/concepts/plugins/#how-to-use-plugins).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def build_incomplete(error: ImportError) -> func.HttpResponse:
    """503 naming the module a handler could not import: the deployment's dependencies did not install.

    The host indexes this module with azure.functions alone, so a build whose requirements failed
    still starts and would answer every request 500 with no body; this answer is built without
    shared/ (which may be what is missing) and says what to fix.
    """
    import json
    import uuid

    request_id = str(uuid.uuid4())
    module = error.name or str(error)
    document = {
        "type": "urn:mailhook:problem:build_incomplete",
        "title": "The deployment is missing a module",
        "status": 503,
        "detail": f"The module '{module}' cannot be imported: the deployment's dependencies (requirements.txt) did "
        "not install. Deploy again and check the build log.",
        "code": "build_incomplete",
        "module": module,
        "requestId": request_id,
    }
    return func.HttpResponse(
        json.dumps(document),
        status_code=503,
        mimetype="application/problem+json",
        headers={"X-Request-Id": request_id, "Cache-Control": "no-store"},
    )


@app.route(route="mail", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def mail(req: func.HttpRequest) -> func.HttpResponse:
    try:
        from shared.endpoints.mail import handle_mail
    except ImportError as error:
        return build_incomplete(error)
    with invocation():
        return handle_mail(req)


@app.route(route="hooks/{source}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def hooks(req: func.HttpRequest) -> func.HttpResponse:
    try:
        from shared.endpoints.hooks import handle_hook
    except ImportError as error:
        return build_incomplete(error)
    with invocation():
        return handle_hook(req)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    try:
        from shared.endpoints.health import handle_health
    except ImportError as error:
        return build_incomplete(error)
    with invocation():
        return handle_health(req)


@app.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def status(req: func.HttpRequest) -> func.HttpResponse:
    try:
        from shared.endpoints.status import handle_status
    except ImportError as error:
        return build_incomplete(error)
    with invocation():
        return handle_status(req)


@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    try:
        from shared.endpoints.openapi import handle_openapi
    except ImportError as error:
        return build_incomplete(error)
    with invocation():
        return handle_openapi(req)


# Queue mode (MAIL_DELIVERY=queue): the HTTP functions enqueue, this one sends. It is declared only
# in queue mode: the worker indexes this module at start with the app settings already in the
# environment, and Core Tools refuses to start a non-HTTP trigger without AzureWebJobsStorage, so
# `func start` with the sample settings (direct mode, no storage) must not see it
# (https://learn.microsoft.com/azure/azure-functions/functions-reference-python#programming-model).
# The queue name is an app setting, resolved by the host: MAIL_QUEUE_NAME must be set. This is the
# one setting read here, by hand: importing shared.settings would put pydantic on every cold start.
if os.environ.get("MAIL_DELIVERY", "").strip().lower() == "queue":

    @app.queue_trigger(arg_name="msg", queue_name="%MAIL_QUEUE_NAME%", connection="AzureWebJobsStorage")
    def deliver(msg: func.QueueMessage) -> None:
        from shared.endpoints.deliver import handle_queued_mail

        with invocation():
            handle_queued_mail(msg.get_body().decode("utf-8"))


# Storm digests (shared/delivery/digests): one delayed message per route on this queue sends the
# notifications held while a sender mailbox was at its limits. Declared whenever storage is
# configured, in direct and queue mode alike; without storage nothing can be held.
if any(
    os.environ.get(name, "").strip()
    for name in ("AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__queueServiceUri")
):

    @app.queue_trigger(arg_name="msg", queue_name="mailhook-digests", connection="AzureWebJobsStorage")
    def flush_digests(msg: func.QueueMessage) -> None:
        from shared.endpoints.deliver import handle_digest_flush

        with invocation():
            handle_digest_flush(msg.get_body().decode("utf-8"))
